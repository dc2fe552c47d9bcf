"""Tests of miner economics, the BTC price source and pool concentration."""
