"""Durable state in SQLite: header, block and fee-sample stores, and how they are opened.

Why apart from ``collect/``: the stores are caches the node can rebuild (headers, blocks, fee
samples); keeping them together makes their shared rules (WAL, busy timeout, reorg handling)
one place to read. The alert outbox lives with the alerts (``alerts/store.py``): it is not a
cache, it is the record of what was promised to operators.
"""
