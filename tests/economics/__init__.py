"""Tests of issue 6: miner economics, BTC price source, pool concentration."""
