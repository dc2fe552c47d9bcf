"""Collector jobs: each feature's ``make_jobs(ctx)`` returns the :class:`JobSpec` list it runs.

Collectors fetch and parse; indicator maths lives in :mod:`hashwatch.indicators`.
"""
