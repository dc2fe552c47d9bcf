"""Test support in one place: what several test folders need, written once.

- ports: a free loopback port for a server a test starts.
- waiting: poll a condition with a deadline (never sleep as synchronisation).
- scrape: fetch and parse a daemon's /metrics over real HTTP.
- httpsink: one configurable recording HTTP server (Slack, webhooks, price APIs, node stubs).
- smtp: aiosmtpd servers (plain, STARTTLS, implicit TLS) and what they received.
- tls: throw-away CA, server and client certificates made with the openssl CLI.
- clock: a clock the test moves by hand.
- alertkit: synthetic snapshots, alert configs and services for the alert tests.
- sigkill: run a child Python process and check it died by SIGKILL; crash_child is the child.
- shared: the shared mainnet data, found as ../shared beside the repository.

Nodes are the simulator (``hashwatch.sim``; fixtures in tests/conftest.py), with its fault
hooks for the odd cases; the one scripted node left replays Core's recorded bytes
(tests/foundation/httpstub.py).
"""
