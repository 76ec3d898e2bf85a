"""deploy/prometheus and deploy/grafana against the metrics the app really exposes.

Every ``wegwijzer_*`` name in a PromQL expression (alert rules, dashboard targets) must be a
series in the exposition of ``Metrics()``, and every label it is filtered, grouped or
labelled by must exist on that series.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from assistant.governance.metrics import Metrics

pytestmark = pytest.mark.unit

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
PROMETHEUS_YML = DEPLOY / "prometheus" / "prometheus.yml"
ALERTS_YML = DEPLOY / "prometheus" / "alerts.yml"
DASHBOARD_JSON = DEPLOY / "grafana" / "wegwijzer-dashboard.json"

# Labels Prometheus attaches to every scraped series (from the scrape target).
TARGET_LABELS = {"job", "instance"}

METRIC_NAME = re.compile(r"\bwegwijzer_[A-Za-z0-9_:]*")
SELECTOR = re.compile(r"\b(wegwijzer_[A-Za-z0-9_:]*)\s*\{([^}]*)\}")
MATCHER_LABEL = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!~|!=|=)\s*\"")
GROUPING = re.compile(r"\b(?:by|without)\s*\(([^)]*)\)")
LEGEND_LABEL = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
ANNOTATION_LABEL = re.compile(r"\$labels\.([A-Za-z_][A-Za-z0-9_]*)")
VARIABLE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)")


# --- the real exposition ----------------------------------------------------------------


@pytest.fixture(scope="module")
def series() -> dict[str, set[str]]:
    """Sample name -> label names, from the text exposition with every metric exercised."""
    m = Metrics()
    m.requests.labels(endpoint="/api/chat", method="POST", status="200").inc()
    m.requests.labels(endpoint="/api/chat", method="POST", status="500").inc()
    m.request_seconds.labels(endpoint="/api/chat").observe(1.5)
    m.retrieval_seconds.observe(0.2)
    m.generation_seconds.observe(8)
    m.answer_seconds.observe(9)
    m.tokens.labels(direction="in").inc(900)
    m.tokens.labels(direction="out").inc(150)
    m.answers.labels(result="answered").inc()
    m.answers.labels(result="refused").inc()
    m.cache_hits.inc()
    m.refusals.labels(reason="retrieval_not_confident").inc()
    m.injections.labels(where="question").inc()
    m.personal_data.labels(kind="bsn").inc()
    for kind in ("up", "down", "problem", "comment"):
        m.feedback.labels(kind=kind).inc()
    m.llm_available.labels(backend="embedded").set(1)
    m.alerts_active.labels(alert="error_rate").set(0)

    found: dict[str, set[str]] = {}
    families = list(text_string_to_metric_families(m.exposition().decode()))
    unexercised = [family.name for family in families if not family.samples]
    assert not unexercised, f"exercise these metrics in the fixture too: {unexercised}"
    for family in families:
        for sample in family.samples:
            found.setdefault(sample.name, set()).update(sample.labels)
    return found


# --- the files -----------------------------------------------------------------------------


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD_JSON.read_text(encoding="utf-8"))


def all_panels(panels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Panels including those nested in (collapsed) rows."""
    out = []
    for panel in panels:
        out.append(panel)
        out.extend(all_panels(panel.get("panels", [])))
    return out


def alert_rules() -> list[dict[str, Any]]:
    return [rule for group in load_yaml(ALERTS_YML)["groups"] for rule in group["rules"]]


def expressions() -> list[tuple[str, str, list[str]]]:
    """(where, PromQL, label templates that must resolve) for every alert and target."""
    out = []
    for rule in alert_rules():
        templates = [str(text) for text in rule.get("annotations", {}).values()]
        refs = [name for text in templates for name in ANNOTATION_LABEL.findall(text)]
        out.append((f"alerts.yml {rule['alert']}", rule["expr"], refs))
    for panel in all_panels(dashboard()["panels"]):
        for target in panel.get("targets", []):
            if "expr" in target:
                refs = LEGEND_LABEL.findall(target.get("legendFormat", ""))
                where = f"dashboard '{panel['title']}' {target['refId']}"
                out.append((where, target["expr"], refs))
    return out


# --- a little PromQL reading --------------------------------------------------------------


def balanced(text: str, open_at: int) -> str:
    """The parenthesised group starting at ``text[open_at] == '('``, without the parens."""
    depth = 0
    for i in range(open_at, len(text)):
        depth += {"(": 1, ")": -1}.get(text[i], 0)
        if depth == 0:
            return text[open_at + 1 : i]
    raise AssertionError(f"unbalanced parentheses in {text!r}")


def balanced_before(text: str, close_at: int) -> str:
    """The parenthesised group ending at ``text[close_at] == ')'``, without the parens."""
    depth = 0
    for i in range(close_at, -1, -1):
        depth += {")": 1, "(": -1}.get(text[i], 0)
        if depth == 0:
            return text[i + 1 : close_at]
    raise AssertionError(f"unbalanced parentheses in {text!r}")


def groupings(expr: str) -> list[tuple[set[str], str]]:
    """(labels, aggregated operand) for every ``by (...)``/``without (...)`` clause.

    Handles both ``sum by (l) (x)`` and ``sum(x) by (l)``.
    """
    out = []
    for match in GROUPING.finditer(expr):
        labels = {label.strip() for label in match.group(1).split(",") if label.strip()}
        after = expr[match.end() :].lstrip()
        if after.startswith("("):
            operand = balanced(expr, len(expr) - len(after))
        else:
            before = expr[: match.start()].rstrip()
            assert before.endswith(")"), f"cannot find the operand of {match.group(0)!r}"
            operand = balanced_before(before, len(before) - 1)
        out.append((labels, operand))
    return out


def used_metrics() -> set[str]:
    return {name for _, expr, _ in expressions() for name in METRIC_NAME.findall(expr)}


# --- metric and label names ---------------------------------------------------------------


def test_every_metric_in_alerts_and_dashboard_is_exposed(series: dict[str, set[str]]) -> None:
    missing = [
        f"{where}: {name}"
        for where, expr, _ in expressions()
        for name in METRIC_NAME.findall(expr)
        if name not in series
    ]
    assert not missing, "not in Metrics().exposition():\n" + "\n".join(missing)


def test_matcher_labels_exist_on_their_metric(series: dict[str, set[str]]) -> None:
    wrong = []
    for where, expr, _ in expressions():
        for name, matchers in SELECTOR.findall(expr):
            for label in MATCHER_LABEL.findall(matchers):
                if label not in series.get(name, set()) | TARGET_LABELS:
                    wrong.append(f"{where}: {name}{{{label}=...}}")
    assert not wrong, "\n".join(wrong)


def test_grouping_labels_exist_on_the_aggregated_metrics(series: dict[str, set[str]]) -> None:
    wrong = []
    for where, expr, _ in expressions():
        for labels, operand in groupings(expr):
            for name in METRIC_NAME.findall(operand):
                for label in labels - series.get(name, set()) - TARGET_LABELS:
                    wrong.append(f"{where}: by ({label}) over {name}")
    assert not wrong, "\n".join(wrong)


def test_quantiles_group_buckets_by_le() -> None:
    for where, expr, _ in expressions():
        if "histogram_quantile" not in expr:
            continue
        bucket_groupings = [labels for labels, operand in groupings(expr) if "_bucket" in operand]
        assert bucket_groupings, f"{where}: histogram_quantile without a by (le) over *_bucket"
        assert all("le" in labels for labels in bucket_groupings), where


def test_legends_and_annotations_name_existing_labels(series: dict[str, set[str]]) -> None:
    wrong = []
    for where, expr, refs in expressions():
        known = set(TARGET_LABELS)
        for name in METRIC_NAME.findall(expr):
            known |= series.get(name, set())
        for labels, _ in groupings(expr):
            known |= labels
        wrong += [f"{where}: {{{{{ref}}}}}" for ref in refs if ref not in known]
    assert not wrong, "\n".join(wrong)


def test_dashboard_charts_every_metric_family(series: dict[str, set[str]]) -> None:
    """metrics.py calls its names a contract with deploy/: nothing exposed goes unseen."""
    suffix = re.compile(r"(_total|_bucket|_sum|_count|_created)$")
    exposed = {suffix.sub("", name) for name in series}
    used = {suffix.sub("", name) for name in used_metrics()}
    assert exposed - used == set()


# --- Prometheus files ---------------------------------------------------------------------


def test_scrape_config_scrapes_metrics_with_a_metrics_key() -> None:
    config = load_yaml(PROMETHEUS_YML)
    (job,) = [job for job in config["scrape_configs"] if job["job_name"] == "wegwijzer"]
    assert job["metrics_path"] == "/metrics"
    assert job["scrape_interval"] == "30s"
    assert job["authorization"] == {
        "type": "Bearer",
        "credentials_file": "/etc/prometheus/wegwijzer-metrics.key",
    }
    targets = [t for static in job["static_configs"] for t in static["targets"]]
    assert targets == ["wegwijzer:8000"]
    assert "wegwijzer keys create --name prometheus --role metrics" in PROMETHEUS_YML.read_text(
        encoding="utf-8"
    )


def test_rule_files_exist_next_to_the_config() -> None:
    rule_files = load_yaml(PROMETHEUS_YML)["rule_files"]
    assert rule_files == ["alerts.yml"]
    for name in rule_files:
        assert (PROMETHEUS_YML.parent / name).is_file(), name


def test_alert_rules_cover_the_apps_alerts_with_dutch_annotations() -> None:
    rules = alert_rules()
    names = [rule["alert"] for rule in rules]
    assert len(names) == len(set(names))
    for rule in rules:
        assert rule["expr"].strip(), rule["alert"]
        assert rule["labels"]["severity"] in {"info", "warning", "critical"}, rule["alert"]
        assert {"summary", "description"} <= set(rule["annotations"]), rule["alert"]
    alerted = {name for rule in rules for name in METRIC_NAME.findall(rule["expr"])}
    assert {
        "wegwijzer_http_requests_total",
        "wegwijzer_answer_duration_seconds_bucket",
        "wegwijzer_feedback_total",
        "wegwijzer_injection_detections_total",
        "wegwijzer_llm_backend_available",
    } <= alerted


# --- Grafana dashboard --------------------------------------------------------------------


def test_dashboard_is_importable_with_a_datasource_input() -> None:
    board = dashboard()
    assert board["uid"] == "wegwijzer"
    assert board["title"] == "AI-wegwijzer"
    assert 36 <= board["schemaVersion"] <= 41
    assert board["id"] is None
    assert [i["name"] for i in board["__inputs"]] == ["DS_PROMETHEUS"]
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["DS_PROMETHEUS"]["type"] == "datasource"
    assert variables["DS_PROMETHEUS"]["query"] == "prometheus"
    assert variables["cost_per_1000_tokens"]["type"] == "constant"
    assert variables["cost_per_1000_tokens"]["query"] == "1"
    assert variables["cost_unit"]["query"] == "Wh"

    panels = all_panels(board["panels"])
    ids = [panel["id"] for panel in panels]
    assert len(ids) == len(set(ids))
    for panel in panels:
        assert panel["title"], panel["id"]
        if panel["type"] == "row":
            continue
        assert panel["type"] in {"timeseries", "stat"}, panel["title"]
        assert panel["targets"], panel["title"]
        for source in [panel["datasource"]] + [t["datasource"] for t in panel["targets"]]:
            assert source == {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}, panel["title"]


def test_dashboard_variables_used_are_defined() -> None:
    board = dashboard()
    defined = {v["name"] for v in board["templating"]["list"]}
    used = set()
    for panel in all_panels(board["panels"]):
        texts = [panel["title"]] + [
            t.get(key, "") for t in panel.get("targets", []) for key in ("expr", "legendFormat")
        ]
        used |= {name for text in texts for name in VARIABLE.findall(text)}
    builtin = {name for name in used if name.startswith("__")}
    assert used - builtin <= defined
    assert {"cost_per_1000_tokens", "cost_unit"} <= used


# --- promtool, when installed -------------------------------------------------------------


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is not installed")
def test_promtool_accepts_config_and_rules() -> None:
    # --syntax-only: the key file exists only on the Prometheus host
    for args in (
        ["check", "config", "--syntax-only", str(PROMETHEUS_YML)],
        ["check", "rules", str(ALERTS_YML)],
    ):
        result = subprocess.run(
            ["promtool", *args], capture_output=True, text=True, timeout=60, check=False
        )
        assert result.returncode == 0, result.stdout + result.stderr
