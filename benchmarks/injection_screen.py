"""The injection screen alone on both halves of attack set v2 (no model answers):
precision and recall with the rules and with the similarity signal, figures to
``$WEGWIJZER_DATA_DIR/bench/injection_screen.json`` (missed attacks and flagged
look-alikes in ``injection_screen-detail.json``)."""

from __future__ import annotations

import json

from assistant.security.known_attacks import KnownAttacks
from assistant.settings import Settings
from benchmarks.report import write_report
from evaluation.screen_scores import screen_figures
from ingest.embeddings import create_embeddings


def main() -> None:
    settings = Settings()
    known = KnownAttacks(create_embeddings(settings), settings.injection_similarity_threshold)
    figures = screen_figures(settings, known)
    detail = {key: figures.pop(key) for key in list(figures) if key.endswith(" detail")}
    write_report(settings.data_dir, "injection_screen", figures)
    (settings.data_dir / "bench" / "injection_screen-detail.json").write_text(
        json.dumps(detail, indent=2)
    )


if __name__ == "__main__":
    main()
