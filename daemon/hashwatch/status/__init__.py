"""Human-readable rows for `hashwatch status`, one module per feature: rows(node_snapshot, snapshot)."""
