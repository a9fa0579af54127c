"""The task benchmark keeps working: a small run (without the bench extra's peers) exits 0."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_quick_task_benchmark_prints_the_table() -> None:
    command = [
        sys.executable, "-m", "benchmarks.tasks", "--tasks", "200", "--workers", "1", "2",
        "--libraries", "jeex-cache", "redis-py",
    ]  # fmt: skip
    run = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert run.returncode == 0, run.stderr
    assert "| library | enqueue: s (tasks/s) | 1 worker: s (tasks/s) | 2 workers:" in run.stdout
    assert "| **jeex-cache** |" in run.stdout
    assert "| redis-py |" in run.stdout
    assert "⚠" not in run.stdout  # every task ran exactly once


def test_quick_fairness_benchmark_prints_both_tables() -> None:
    command = [
        sys.executable, "-m", "benchmarks.tasks_fairness", "--tasks", "200", "--tenants", "10",
        "--bulk", "200",
    ]  # fmt: skip
    run = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert run.returncode == 0, run.stderr
    assert "| plain (no project) |" in run.stdout
    assert "| 10 tenants |" in run.stdout
    assert "| turns per project |" in run.stdout
