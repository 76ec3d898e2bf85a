"""The 47 attacks end to end through the embedded model; figures to
``$WEGWIJZER_DATA_DIR/bench/attacks.json``."""

from __future__ import annotations

import json
import os

from assistant.settings import Settings
from benchmarks.report import REPO, write_report
from evaluation.attack_run import run_attacks


def main() -> None:
    settings = Settings()
    settings = settings.model_copy(
        update={
            "corpus_dir": REPO / "corpus",
            "llm_backend": os.environ.get("WEGWIJZER_LLM_BACKEND", "embedded"),
            "model_dir": settings.models_dir.resolve(),
        }
    )
    figures = run_attacks(settings)
    outcomes = figures.pop("outcomes")
    write_report(settings.data_dir, "attacks", figures)
    (settings.data_dir / "bench" / "attacks-outcomes.json").write_text(
        json.dumps(outcomes, indent=2)
    )


if __name__ == "__main__":
    main()
