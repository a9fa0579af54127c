"""``serve``'s log lines carry a timestamp and the logger's name."""

from __future__ import annotations

import logging
import logging.config
import re

import pytest
import uvicorn.config

from jeex_cache.cli.serve import _log_config


def test_serve_logs_have_timestamps_and_logger_names(capsys: pytest.CaptureFixture[str]) -> None:
    config = _log_config(uvicorn.config.LOGGING_CONFIG, "info")
    touched = [logging.getLogger(name) for name in config["loggers"]]
    saved = [(one.handlers[:], one.level, one.propagate) for one in touched]
    try:
        logging.config.dictConfig(config)
        logging.getLogger("jeex_cache.circuit").warning("circuit of 127.0.0.1:7001 opened")
    finally:
        for one, (handlers, level, propagate) in zip(touched, saved, strict=True):
            one.handlers, one.level, one.propagate = handlers, level, propagate
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} ", line), line
    assert "jeex_cache.circuit: circuit of 127.0.0.1:7001 opened" in line
