"""The benchmark runner keeps working: a quick run exits 0 and prints its tables."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_quick_benchmark_run_prints_the_table() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--quick", "--samples", "200", "--ops", "400"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert "| get_project_data | **jeex-cache** |" in run.stdout
    assert "| cache_project_data | **jeex-cache** |" in run.stdout
    assert "| validate_user_session | **jeex-cache** |" in run.stdout
    assert "| create_user_session | **jeex-cache** |" in run.stdout
    assert "| validate_user_session | redis-py GETEX PX + orjson.loads (baseline) |" in run.stdout
    assert "| increment_progress | **jeex-cache** |" in run.stdout
    assert "| check_rate_limit | **jeex-cache** |" in run.stdout
    assert "Targets:" in run.stdout
    for payload in ("1kb", "100b", "100kb"):  # the project cache's rows, once per document
        assert f"## Payload {payload}" in run.stdout
