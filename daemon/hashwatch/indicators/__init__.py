"""Indicator maths: pure functions over plain data (no I/O), one module per feature.

Why apart from ``collect/``: the formulas are what operators act on, so they must be testable on
recorded and synthetic data alone (hypothesis property tests, vectors from Bitcoin Core).
"""
