"""Charts for the HTML report, rendered locally (matplotlib, Agg) as PNG bytes."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

CATEGORY_METRICS = ("hit@5", "key_fact_recall", "citation_precision", "answer_in_language")
COMPARISON_METRICS = ("hit@5", "mrr", "key_fact_recall", "citation_precision", "refusal_accuracy")


def _png(figure: plt.Figure) -> bytes:
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=100)
    plt.close(figure)
    return buffer.getvalue()


def _grouped_bars(groups: list[str], series: dict[str, list[float]], title: str) -> bytes:
    figure, axes = plt.subplots(figsize=(max(6.0, 1.1 * len(groups) + 2), 3.8))
    width = 0.8 / max(len(series), 1)
    for index, (label, values) in enumerate(series.items()):
        positions = [g + (index - (len(series) - 1) / 2) * width for g in range(len(groups))]
        axes.bar(positions, values, width, label=label)
    axes.set_xticks(range(len(groups)), groups, rotation=25, ha="right")
    axes.set_ylim(0, 1.05)
    axes.set_title(title)
    axes.legend(fontsize=8, ncols=2)
    axes.grid(axis="y", alpha=0.3)
    return _png(figure)


def metrics_per_category(by_category: dict[str, dict]) -> bytes:
    """Bars of the main answer and retrieval metrics for each question category."""
    categories = list(by_category)
    series = {
        metric: [by_category[c]["metrics"].get(metric, 0.0) for c in categories]
        for metric in CATEGORY_METRICS
    }
    return _grouped_bars(categories, series, "Metrics per category (0 = not applicable)")


def configuration_comparison(headlines: dict[str, dict[str, float]]) -> bytes:
    """Bars of the deciding metrics for each configuration."""
    configs = list(headlines)
    series = {
        metric: [headlines[c].get(metric, 0.0) for c in configs] for metric in COMPARISON_METRICS
    }
    return _grouped_bars(configs, series, "Configurations compared")


def latency_distribution(latencies_s: dict[str, list[float]]) -> bytes:
    """Box plots of total answer latency and first-token time per configuration."""
    figure, axes = plt.subplots(figsize=(7.0, 3.6))
    labels = [label for label, values in latencies_s.items() if values]
    axes.boxplot([latencies_s[label] for label in labels], vert=False)
    axes.set_yticks(range(1, len(labels) + 1), labels, fontsize=8)
    axes.set_xlabel("seconds")
    axes.set_title("Answer latency")
    axes.grid(axis="x", alpha=0.3)
    return _png(figure)
