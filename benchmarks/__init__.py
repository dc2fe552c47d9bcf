"""hashwatch benchmarks: poll cost, scrape cost, backfill and memory against naive baselines.

Run ``python -m benchmarks.run`` (or ``python benchmarks/run.py``) from the repository root;
``--quick`` uses small sizes (about a minute). See ``benchmarks/README.md``.
"""
