"""Helpers that run real external programs for tests (bitcoind)."""
