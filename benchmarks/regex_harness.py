"""The regex harness as a benchmark: how slow the slowest pattern is on hostile input.

The test (tests/test_regex_safety.py) fails any pattern over 50 ms; this writes the
figures down: how many patterns, the slowest, and how far below the bound it stays.
"""

from __future__ import annotations

from evaluation.regex_safety import DEFAULT_LENGTH, LIMIT_MS, time_all


def main() -> None:
    timings = time_all()
    print(f"Regex harness ({len(timings)} patterns in assistant/ and ingest/, ", end="")
    print(f"{DEFAULT_LENGTH}-character hostile inputs, limit {LIMIT_MS:.0f} ms)")
    for timing in timings[:5]:
        print(f"  {timing.worst_ms:7.2f} ms  {timing.where}")
    over = sum(1 for t in timings if t.worst_ms > LIMIT_MS)
    print(f"  slowest pattern: {timings[0].worst_ms:.2f} ms; over the limit: {over}")


if __name__ == "__main__":
    main()
