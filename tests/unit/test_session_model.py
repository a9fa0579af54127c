"""A session assembled slot by slot is the session the dataclass builds; digests agree."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from jeex_cache.core.errors import InvalidIdentifierError
from jeex_cache.sessions.keys import checked_session_digest, session_digest
from jeex_cache.sessions.model import UserSession, assemble, attach_id


def test_an_assembled_session_equals_the_one_the_dataclass_builds() -> None:
    now = datetime.now(UTC)
    fields = (
        "ab" * 32, uuid4(), {"name": "Dana"}, frozenset({uuid4()}),
        now, now, now + timedelta(minutes=15), now + timedelta(hours=1),
    )  # fmt: skip
    built = assemble(*fields)
    assert built == UserSession(None, *fields)
    with pytest.raises(AttributeError):
        built.user_data = {}  # type: ignore[misc]
    assert attach_id(built, "raw").session_id == "raw"


def test_a_checked_digest_is_the_digest_and_an_unchecked_id_is_refused() -> None:
    session_id = "A" * 43
    assert checked_session_digest(session_id) == session_digest(session_id)
    with pytest.raises(InvalidIdentifierError):
        session_digest("no spaces allowed")
