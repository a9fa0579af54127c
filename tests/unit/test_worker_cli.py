"""``jeex-cache worker``: handler loading, configuration errors, a burst run."""

from __future__ import annotations

import pytest

from jeex_cache.cli import main

HANDLERS = "tests.faults._task_handlers:HANDLERS"
NOT_A_MAPPING = "tests.faults._task_handlers:EXECUTIONS"


@pytest.fixture(autouse=True)
def memory_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)


@pytest.mark.parametrize(
    ("handlers", "message"),
    [
        ("no_colon", "must look like package.module:NAME"),
        ("no_such_module_xyz:HANDLERS", "cannot import 'no_such_module_xyz'"),
        ("tests.faults._task_handlers:MISSING", "must be a non-empty mapping"),
        (NOT_A_MAPPING, "must be a non-empty mapping"),
    ],
)
def test_bad_handlers_are_one_line_and_status_2(
    handlers: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["worker", "--queue", "q", "--handlers", handlers]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "argv",
    [
        ["worker"],
        ["worker", "--queue", "q"],
        ["worker", "--queue", "q", "--handlers", HANDLERS, "--concurrency", "x"],
    ],
)
def test_usage_errors_are_status_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert "usage: jeex-cache worker" in capsys.readouterr().err


@pytest.mark.parametrize(
    "extra", [["--concurrency", "0"], ["--visibility-timeout", "-1"], ["--queue", "a b"]]
)
def test_invalid_worker_settings_are_status_2(
    extra: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["worker", "--queue", "q", "--handlers", HANDLERS, *extra]) == 2
    assert capsys.readouterr().err.startswith("jeex-cache: ")


def test_a_burst_worker_on_an_empty_queue_exits_0() -> None:
    assert main(["worker", "--queue", "q", "--handlers", HANDLERS, "--burst"]) == 0


APP = "tests.unit._worker_app:settings"


def test_a_worker_settings_is_loaded_with_its_schedules_and_caps() -> None:
    from jeex_cache.cli.worker import WorkerOptions
    from tests.unit import _worker_app

    loaded = WorkerOptions(settings=APP, concurrency=4).worker_settings()
    assert loaded.queue == "app"
    assert loaded.concurrency == 4
    assert loaded.schedules == _worker_app.settings.schedules
    assert (loaded.max_running_per_project, loaded.task_timeout) == (3, 5.0)
    assert list(loaded.registry) == ["greet"]


def test_a_burst_worker_from_settings_runs_its_hooks_and_tasks() -> None:
    from tests.unit import _worker_app

    _worker_app.EVENTS.clear()
    assert main(["worker", APP, "--burst"]) == 0
    assert _worker_app.EVENTS == ["startup", "hello ada", "shutdown"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["worker", "tests.faults._task_handlers:HANDLERS"], "must be a WorkerSettings"),
        (["worker", APP, "--queue", "q"], "not both"),
    ],
)
def test_a_bad_settings_argument_is_status_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    assert message in capsys.readouterr().err
