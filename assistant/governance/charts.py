"""The dashboard's charts, drawn on the server with matplotlib as SVG data URIs:
no script and no asset from outside the server."""

from __future__ import annotations

import base64
import io
import threading

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

plt.rcParams["svg.fonttype"] = "none"  # text as text: a few KB per chart, not glyph paths

_PYPLOT = threading.Lock()  # pyplot keeps global state: one chart at a time
BLUE, ORANGE, RED, GREEN = "#01689b", "#e17000", "#d52b1e", "#39870c"


def dashboard_charts(dashboard: dict) -> dict[str, str]:
    """Four charts over the dashboard's series, keyed by name."""
    series = dashboard["series"]
    hourly = dashboard["window"]["bucket"] == "hour"
    labels = [s["start"][11:16] if hourly else s["start"][5:10] for s in series]
    unit = dashboard["cost"]["unit"]
    return {
        "requests": _bars(
            "Verzoeken",
            labels,
            {
                "antwoorden": ([s["answers"] for s in series], BLUE),
                "zoekopdrachten": ([s["searches"] for s in series], GREEN),
                "fouten": ([s["errors"] for s in series], RED),
            },
        ),
        "latency": _lines(
            "Antwoordtijd (seconden)",
            labels,
            {
                "p50": ([s["latency_p50_s"] for s in series], BLUE),
                "p95": ([s["latency_p95_s"] for s in series], ORANGE),
            },
        ),
        "quality": _lines(
            "Weigeringen en negatieve feedback (%)",
            labels,
            {
                "geweigerd": ([_percent(s["refusal_rate"]) for s in series], BLUE),
                "duim omlaag": ([_down_share(s) for s in series], RED),
            },
        ),
        "tokens": _bars(
            f"Tokens en geschatte kosten ({dashboard['cost']['total']} {unit} in totaal)",
            labels,
            {
                "tokens in": ([s["tokens_in"] for s in series], BLUE),
                "tokens uit": ([s["tokens_out"] for s in series], ORANGE),
            },
        ),
    }


def _percent(share: float | None) -> float | None:
    return None if share is None else 100 * share


def _down_share(point: dict) -> float | None:
    rated = point["feedback_up"] + point["feedback_down"]
    return 100 * point["feedback_down"] / rated if rated else None


def _bars(title: str, labels: list[str], series: dict[str, tuple[list, str]]) -> str:
    with _PYPLOT:
        figure, axes = _figure(title)
        bottom = [0.0] * len(labels)
        for name, (values, colour) in series.items():
            axes.bar(range(len(labels)), values, bottom=bottom, label=name, color=colour)
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        axes.set_ylim(0, max(max(bottom, default=0) * 1.1, 1))
        return _finish(figure, axes, labels)


def _lines(title: str, labels: list[str], series: dict[str, tuple[list, str]]) -> str:
    with _PYPLOT:
        figure, axes = _figure(title)
        for name, (values, colour) in series.items():
            points = [(i, v) for i, v in enumerate(values) if v is not None]
            axes.plot(
                [i for i, _ in points], [v for _, v in points], marker="o", label=name, color=colour
            )
        axes.set_xlim(-0.5, len(labels) - 0.5)
        highest = max(
            (v for values, _ in series.values() for v in values if v is not None), default=0
        )
        axes.set_ylim(0, max(highest * 1.1, 1))
        return _finish(figure, axes, labels)


def _figure(title: str) -> tuple[plt.Figure, plt.Axes]:
    figure, axes = plt.subplots(figsize=(6.4, 2.8))
    axes.set_title(title, fontsize=10, loc="left")
    axes.spines[["top", "right"]].set_visible(False)
    axes.grid(axis="y", alpha=0.3)
    return figure, axes


def _finish(figure: plt.Figure, axes: plt.Axes, labels: list[str]) -> str:
    step = max(1, len(labels) // 12)
    axes.set_xticks(range(0, len(labels), step), labels[::step], fontsize=8)
    axes.tick_params(axis="y", labelsize=8)
    axes.legend(fontsize=8, frameon=False, loc="upper left")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="svg")
    plt.close(figure)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
