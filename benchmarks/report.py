"""Shared by the benchmarks: running the CLI and writing the figures."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def write_report(data_dir: Path, name: str, results: dict[str, object]) -> None:
    """Print the figures as a table and save them to ``<data_dir>/bench/<name>.json``."""
    out_dir = data_dir / "bench"
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{name}.json").write_text(json.dumps(results, indent=2))
    width = max(len(key) for key in results)
    for key, value in results.items():
        print(f"{key:<{width}}  {value}")


def run_cli(env: dict[str, str], *args: str) -> None:
    """Run ``wegwijzer ARGS`` as a user would, in the repository, failing loudly."""
    subprocess.run(
        [sys.executable, "-m", "assistant.cli", *args],
        cwd=REPO,
        env=env,
        check=True,
        capture_output=True,
    )
