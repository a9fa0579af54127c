"""The example app's own tests (examples/fastapi_app), on memory and Redis, as CI runs them."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.fastapi_integration.conftest import plugin_pytest_command

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("backend", ["memory"])  # the example's tests cover both themselves
def test_the_example_apps_tests_pass(backend: str) -> None:
    result = subprocess.run(
        [*plugin_pytest_command(), "examples/fastapi_app"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "12 passed" in result.stdout
