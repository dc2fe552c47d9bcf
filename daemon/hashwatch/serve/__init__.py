"""HTTP serving: the metrics server, its cached exposition, web config, basic auth and TLS.

Why apart: everything that faces the network path to /metrics (and the page) sits here, so the
trust boundary for scrapers is one folder. It renders what ``snapshot/`` holds; it never calls
the node.
"""
