"""Miner economics (hashprice, hashcost, break-even), the BTC price source, pool concentration."""
