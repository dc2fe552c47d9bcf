"""Threshold alerting: rules -> engine -> SQLite outbox -> Slack, e-mail, webhook, log.

Entry point for the daemon and CLI: :class:`hashwatch.alerts.service.AlertService`.
"""
