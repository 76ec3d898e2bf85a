"""Alerts: thresholds (by setting) on error rate, latency, negative feedback and injection
attempts over a recent window of the audit log. A raised or cleared alert is written to
the server log and the audit log, and shown on the dashboard and in /metrics."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import asdict, dataclass

from assistant.governance.activity import Activity
from assistant.governance.audit_log import Origin
from assistant.governance.recorder import Recorder
from assistant.settings import Settings

log = logging.getLogger(__name__)
MONITOR = Origin(actor="system:alerts", origin="monitor")


@dataclass(frozen=True)
class Alert:
    """An exceeded threshold; ``label`` is shown to administrators (Dutch)."""

    name: str
    label: str
    value: float
    threshold: float

    def to_dict(self) -> dict:
        return asdict(self)


class AlertMonitor:
    """Judges the window and records every change in which alerts are active."""

    def __init__(self, settings: Settings, recorder: Recorder) -> None:
        self._settings = settings
        self._recorder = recorder
        self._active: dict[str, Alert] = {}
        self._lock = threading.Lock()

    def check(self, now: float | None = None) -> list[Alert]:
        """The alerts active now; logs those raised or cleared since the last check."""
        now = time.time() if now is None else now
        window = Activity()
        since = now - self._settings.alert_window_minutes * 60
        for entry in self._recorder.audit.entries(since=since, until=now + 1):
            window.add(entry)
        current = {alert.name: alert for alert in self.judge(window)}
        with self._lock:
            raised = [a for name, a in current.items() if name not in self._active]
            cleared = [a for name, a in self._active.items() if name not in current]
            self._active = current
        for alert in raised:
            log.warning("ALERT raised: %s (%.3g > %.3g)", alert.name, alert.value, alert.threshold)
            self._record("alert.raised", alert)
        for alert in cleared:
            log.warning("ALERT cleared: %s", alert.name)
            self._record("alert.cleared", alert)
        gauge = self._recorder.metrics.alerts_active
        for name in ALERT_NAMES:
            gauge.labels(name).set(1 if name in current else 0)
        return list(current.values())

    def judge(self, window: Activity) -> list[Alert]:
        """Which thresholds the window exceeds; rates only from enough events."""
        s = self._settings
        alerts = []
        enough = s.alert_min_requests
        if window.requests >= enough and window.error_rate > s.alert_error_rate:
            alerts.append(
                Alert("error_rate", "Foutpercentage te hoog", window.error_rate, s.alert_error_rate)
            )
        p95 = window.latency_percentile(95)
        if len(window.answer_seconds) >= enough and p95 is not None and p95 > s.alert_latency_p95_s:
            alerts.append(
                Alert("latency_p95", "Antwoorden te traag (p95)", p95, s.alert_latency_p95_s)
            )
        negative = window.negative_feedback_rate
        if window.rated >= enough and negative > s.alert_negative_feedback_rate:
            alerts.append(
                Alert(
                    "negative_feedback",
                    "Veel negatieve feedback",
                    negative,
                    s.alert_negative_feedback_rate,
                )
            )
        if window.injection_attempts >= s.alert_injection_attempts:
            alerts.append(
                Alert(
                    "injection_attempts",
                    "Veel pogingen tot prompt-injectie",
                    window.injection_attempts,
                    s.alert_injection_attempts,
                )
            )
        return alerts

    def _record(self, action: str, alert: Alert) -> None:
        self._recorder.admin_action(MONITOR, action, f"alert:{alert.name}", alert.to_dict())


ALERT_NAMES = ("error_rate", "latency_p95", "negative_feedback", "injection_attempts")
