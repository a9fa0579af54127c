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


def test_quick_rates_benchmark_prints_both_phases() -> None:
    command = [
        sys.executable, "-m", "benchmarks.tasks_rates", "--rates", "5", "20", "--workers", "2",
        "--seconds", "1", "--pause-seconds", "1",
    ]  # fmt: skip
    run = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert run.returncode == 0, run.stderr
    assert "| 1: all paced | 5 | 5 |" in run.stdout
    assert "| 2: one paused | 20 | paused |" in run.stdout


def test_quick_cpu_benchmark_compares_with_a_commit() -> None:
    command = [
        sys.executable, "-m", "benchmarks.tasks_cpu", "--tasks", "100", "--projects", "0",
        "--against", "HEAD",
    ]  # fmt: skip
    run = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert run.returncode == 0, run.stderr
    assert "| this tree | plain |" in run.stdout
    assert "| HEAD | plain |" in run.stdout
