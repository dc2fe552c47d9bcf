"""hashwatch's Grafana boards as code (see ``model.py``); ``python grafana/dashgen.py``."""
