"""Write report.json, report.md and a self-contained report.html for one evaluation run."""

from __future__ import annotations

import base64
import html
import json
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from assistant.settings import Settings
from evaluation import plots
from evaluation.summary import HEADLINE, LOWER_IS_BETTER, headline, item_values

WORST_ITEMS = 10
CATEGORY_COLUMNS = (
    "hit@5",
    "mrr",
    "refusal_accuracy",
    "on_topic_negatives_refused",
    "false_refusal_rate",
    "attack_resistance",
    "citation_precision",
    "key_fact_recall",
    "all_key_facts",
    "cites_every_document",
    "answer_in_language",
    "semantic_similarity",
)


@dataclass
class Table:
    headers: list[str]
    rows: list[list[str]]

    def markdown(self) -> str:
        lines = ["| " + " | ".join(self.headers) + " |", "|" + " --- |" * len(self.headers)]
        lines += [
            "| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in self.rows
        ]
        return "\n".join(lines)

    def html(self) -> str:
        head = "".join(f"<th>{html.escape(h)}</th>" for h in self.headers)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>"
            for row in self.rows
        )
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def git_commit(repo: Path) -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return out.stdout.strip() or None


def badness(record: dict) -> float:
    """How clearly an item went wrong; the worst items are shown for a person to judge."""
    if record.get("error"):
        return 5.0
    values = item_values(record)
    score = 0.0
    score += 2.0 * (1 - values.get("refusal_accuracy", 1.0))
    score += 2.0 * values.get("false_refusal_rate", 0.0)
    score += 2.0 * (1 - values.get("attack_resistance", 1.0))
    score += 1.5 * (1 - values.get("personal_data_not_repeated", 1.0))
    score += 1.0 * (1 - values.get("hit@5", 1.0))
    score += 1.0 * (1 - values.get("key_fact_recall", 1.0))
    score += 0.5 * (1 - values.get("citation_precision", 1.0))
    return score


def _fmt(value: float | None, name: str = "") -> str:
    if value is None:
        return "–"
    if name.endswith("_ms"):
        return f"{value / 1000:.1f} s"
    return f"{value:.3f}"


def build_report(
    records: list[dict],
    summary: dict[str, dict],
    context: dict,
    baseline_rows: list[dict] | None,
    threshold_failures: list[str],
) -> dict:
    """Everything the three report files show, as one JSON-able dict."""
    first = next(iter(summary))
    worst = sorted(
        (r for r in records if r["config"] == first and badness(r) > 0),
        key=badness,
        reverse=True,
    )[:WORST_ITEMS]
    return {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        **context,
        "headline": {config: headline(data["overall"]) for config, data in summary.items()},
        "configs": summary,
        "baseline": baseline_rows,
        "threshold_failures": threshold_failures,
        "worst_items": [r["id"] for r in worst],
        "items": records,
    }


def _tables(report: dict) -> dict[str, Table]:
    configs = list(report["configs"])
    first = configs[0]
    headlines = report["headline"]
    names = [n for n in HEADLINE if any(n in headlines[c] for c in configs)]
    tables = {
        "headline": Table(
            ["metric", *configs],
            [
                [
                    n + (" ↓" if n in LOWER_IS_BETTER else ""),
                    *[_fmt(headlines[c].get(n), n) for c in configs],
                ]
                for n in names
            ],
        )
    }
    by_category = report["configs"][first]["by_category"]
    tables["categories"] = Table(
        ["category", "items", *CATEGORY_COLUMNS],
        [
            [cat, str(data["items"]), *[_fmt(data["metrics"].get(m)) for m in CATEGORY_COLUMNS]]
            for cat, data in by_category.items()
        ],
    )
    by_split = report["configs"][first].get("by_split") or {}
    split_names = [n for n in HEADLINE if any(n in d["metrics"] for d in by_split.values())]
    tables["halves"] = Table(
        ["metric", *(f"{half} ({data['items']})" for half, data in by_split.items())],
        [
            [
                n + (" ↓" if n in LOWER_IS_BETTER else ""),
                *[_fmt(data["metrics"].get(n), n) for data in by_split.values()],
            ]
            for n in split_names
        ],
    )
    missing = {c: report["configs"][c]["overall"]["ragas_missing"] for c in configs}
    tables["missing"] = Table(
        ["configuration", "errors", "RAGAS scores missing (NaN or judge failure)"],
        [
            [
                c,
                str(report["configs"][c]["overall"]["errors"]),
                ", ".join(f"{k}: {v}" for k, v in missing[c].items()) or "none",
            ]
            for c in configs
        ],
    )
    if report.get("baseline"):
        tables["baseline"] = Table(
            ["metric", "baseline", "now", "change", ""],
            [
                [
                    row["metric"],
                    _fmt(row["baseline"], row["metric"]),
                    _fmt(row["now"], row["metric"]),
                    f"{row['change']:+.3f}"
                    if not row["metric"].endswith("_ms")
                    else f"{row['change'] / 1000:+.1f} s",
                    "REGRESSION" if row["regression"] else "",
                ]
                for row in report["baseline"]
            ],
        )
    return tables


def _worst(report: dict) -> list[dict]:
    first = next(iter(report["configs"]))
    by_id = {r["id"]: r for r in report["items"] if r["config"] == first}
    return [by_id[item_id] for item_id in report["worst_items"]]


def _meta_lines(report: dict) -> list[str]:
    return [
        f"created {report['created']}, git commit {report.get('git_commit') or 'unknown'}",
        f"golden set {report['golden']['path']} ({report['golden']['items']} items, "
        f"sha256 {report['golden']['sha256'][:12]})",
        f"corpus version {report.get('corpus_version')}, models {report.get('models')}, "
        f"prompt {report.get('prompt_version')}, mode {report.get('mode')}",
    ]


def render_markdown(report: dict) -> str:
    tables = _tables(report)
    parts = ["# AI-wegwijzer evaluation report", "", *[f"- {line}" for line in _meta_lines(report)]]
    parts += ["", "## Headline (↓: lower is better)", "", tables["headline"].markdown()]
    parts += [
        "",
        f"## Dev and test halves ({next(iter(report['configs']))}; tune on dev, report test)",
        "",
        tables["halves"].markdown(),
    ]
    if "baseline" in tables:
        parts += [
            "",
            f"## Against the baseline ({report['baseline_path']})",
            "",
            tables["baseline"].markdown(),
        ]
    if report["threshold_failures"]:
        parts += ["", "## Thresholds missed", ""] + [f"- {f}" for f in report["threshold_failures"]]
    parts += [
        "",
        f"## Per category ({next(iter(report['configs']))})",
        "",
        tables["categories"].markdown(),
        "",
        "## Failures",
        "",
        tables["missing"].markdown(),
    ]
    parts += ["", "## Worst items", ""]
    for record in _worst(report):
        answer = record.get("answer") or {}
        parts += [f"### {record['id']} ({record['category']}): {record['question']}", ""]
        if record.get("history"):
            parts.append(f"Earlier: {' / '.join(record['history'])}  ")
        parts.append(f"Answer: {answer.get('answer') or record.get('error') or '(retrieval only)'}")
        for citation in answer.get("citations") or []:
            parts.append(f"- [{citation['n']}] {citation['doc_id']} › {citation['section']}")
        parts.append("")
        parts.append(
            "Retrieved: "
            + "; ".join(
                f"{hit['doc_id']} › {hit['section'][:60]}" for hit in record["retrieved"][:3]
            )
        )
        parts.append("")
    return "\n".join(parts) + "\n"


def render_html(report: dict) -> str:
    tables = _tables(report)
    first = next(iter(report["configs"]))
    images = [
        (
            "Metrics per category",
            plots.metrics_per_category(report["configs"][first]["by_category"]),
        )
    ]
    if len(report["configs"]) > 1:
        images.append(("Configurations", plots.configuration_comparison(report["headline"])))
    latencies: dict[str, list[float]] = {}
    for record in report["items"]:
        answer = record.get("answer")
        if answer and not answer["refused"]:
            latencies.setdefault(f"{record['config']} total", []).append(
                answer["timings_ms"]["total"] / 1000
            )
            if answer.get("first_token_ms") is not None:
                latencies.setdefault(f"{record['config']} first token", []).append(
                    answer["first_token_ms"] / 1000
                )
    if latencies:
        images.append(("Latency", plots.latency_distribution(latencies)))
    body = ["<h1>AI-wegwijzer evaluation report</h1><ul>"]
    body += [f"<li>{html.escape(line)}</li>" for line in _meta_lines(report)] + ["</ul>"]
    body += ["<h2>Headline (↓: lower is better)</h2>", tables["headline"].html()]
    if "baseline" in tables:
        body += ["<h2>Against the baseline</h2>", tables["baseline"].html()]
    if report["threshold_failures"]:
        body += ["<h2>Thresholds missed</h2><ul>"]
        body += [f"<li>{html.escape(f)}</li>" for f in report["threshold_failures"]] + ["</ul>"]
    body += [f"<h2>Dev and test halves ({html.escape(first)})</h2>", tables["halves"].html()]
    body += [f"<h2>Per category ({html.escape(first)})</h2>", tables["categories"].html()]
    for title, png in images:
        data = base64.b64encode(png).decode("ascii")
        body.append(
            f'<h2>{html.escape(title)}</h2><img alt="{html.escape(title)}" '
            f'src="data:image/png;base64,{data}">'
        )
    body += ["<h2>Failures</h2>", tables["missing"].html(), "<h2>Worst items</h2>"]
    for record in _worst(report):
        answer = record.get("answer") or {}
        body.append(
            f"<section><h3>{html.escape(record['id'])} "
            f"({html.escape(record['category'])}): {html.escape(record['question'])}</h3>"
        )
        text = answer.get("answer") or record.get("error") or "(retrieval only)"
        body.append(f"<p><b>Answer:</b> {html.escape(text)}</p><ol>")
        body += [
            f'<li value="{c["n"]}">{html.escape(c["doc_id"])} › '
            f"{html.escape(c['section'])}: <q>{html.escape(c['text'][:300])}</q></li>"
            for c in answer.get("citations") or []
        ]
        body.append("</ol><details><summary>Retrieved passages</summary><ol>")
        body += [
            f"<li>{html.escape(h['doc_id'])} › {html.escape(h['section'])}: "
            f"{html.escape(h['text'][:400])}</li>"
            for h in record["retrieved"]
        ]
        body.append("</ol></details></section>")
    style = (
        "body{font-family:sans-serif;max-width:70em;margin:2em auto;padding:0 1em}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbb;"
        "padding:.25em .5em;text-align:left}img{max-width:100%}section{margin:1em 0}"
    )
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>AI-wegwijzer evaluation</title><style>{style}</style></head>"
        f"<body>{''.join(body)}</body></html>"
    )


def write_reports(report: dict, out_dir: Path, settings: Settings | None = None) -> list[Path]:
    """report.json, report.md and report.html in ``out_dir``; with ``settings`` also the
    model card (model-card.json and model-card.md) of what was evaluated."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / "report.json", out_dir / "report.md", out_dir / "report.html"]
    paths[0].write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    paths[1].write_text(render_markdown(report), encoding="utf-8")
    paths[2].write_text(render_html(report), encoding="utf-8")
    if settings is not None:
        from assistant.governance.model_card import write_model_card

        paths += write_model_card(settings, out_dir, latest_report=paths[0])
    return paths
