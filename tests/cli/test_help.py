"""Every command has help with examples; a group without its action prints its usage."""

from __future__ import annotations

import pytest

from jeex_cache.cli import main

COMMANDS = [
    [],
    ["serve"],
    ["worker"],
    ["progress"],
    ["progress", "watch"],
    ["tasks"],
    ["tasks", "stats"],
    ["tasks", "dead"],
    ["tasks", "requeue"],
    ["health"],
    ["warm"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "jeex-cache")
def test_help_shows_examples(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*command, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: jeex-cache {' '.join(command)}".rstrip())
    assert "examples:\n  jeex-cache " in out


@pytest.mark.parametrize("group", ["progress", "tasks"])
def test_a_group_without_its_action_is_a_usage_error(
    group: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([group]) == 2
    assert capsys.readouterr().err.startswith(f"usage: jeex-cache {group} ")
