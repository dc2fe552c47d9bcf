"""Human-readable rows for `hashwatch status`: one module per feature with ``rows()``."""
