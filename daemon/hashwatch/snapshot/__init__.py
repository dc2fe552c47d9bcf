"""What hashwatch knows right now: immutable snapshots and the section types they hold.

Collector jobs write snapshots through :class:`~hashwatch.snapshot.store.SnapshotStore`;
metrics, alerts, status and the page only read them.
"""
