"""The stampede benchmark keeps working: a small run exits 0 with jeex-cache's row."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_small_stampede_run_prints_the_table() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "benchmarks.stampede", "--readers", "50", "--loader-ms", "10"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert "| **jeex-cache** `get_or_load_project_data` | 1 |" in run.stdout
    assert "Targets: 1 loader call: met" in run.stdout
