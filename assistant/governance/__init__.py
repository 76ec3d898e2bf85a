"""Accountability: audit log, metrics, dashboard, incidents, model card."""
