"""Project and user IDs: what ``parse_id`` accepts, its canonical form, and the crafted IDs it
refuses (``tests/crafted_ids.py``; ``tests/contract/test_isolation.py`` runs them on every
backend)."""

from __future__ import annotations

import string
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jeex_cache import CacheKey, CacheTag, InvalidIdentifierError
from jeex_cache.core.identifiers import (
    MAX_ID_LENGTH,
    SCOPE_LENGTH,
    id_key,
    id_text,
    parse_id,
    scope_id,
    scope_of,
)
from jeex_cache.core.keys import KeySpace
from jeex_cache.core.transport.router import key_slot
from jeex_cache.project_cache import keys as project_keys
from jeex_cache.sessions import keys as session_keys
from tests.crafted_ids import CRAFTED_IDS

PROJECT = UUID("12345678-1234-5678-1234-567812345678")
LETTERED = UUID("a0b1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d")
SEPARATORS = set(":{}@*?[] \t\r\n\x00/\\")


@pytest.mark.parametrize("crafted", CRAFTED_IDS, ids=repr)
def test_crafted_ids_are_refused(crafted: object) -> None:
    with pytest.raises(InvalidIdentifierError):
        parse_id(crafted)
    with pytest.raises(InvalidIdentifierError):
        parse_id(crafted, "user ID")


@pytest.mark.parametrize(
    ("given_id", "canonical"),
    [
        ("1", "1"),
        ("01", "01"),
        ("0042", "0042"),
        (42, "42"),
        (0, "0"),
        ("acme.eu", "acme.eu"),
        ("a..b", "a..b"),
        ("_x", "_x"),
        ("x-", "x-"),
        (".x", ".x"),
        ("U1", "U1"),
        ("x" * MAX_ID_LENGTH, "x" * MAX_ID_LENGTH),
        ("1234567812345678123456781234567", "1234567812345678123456781234567"),  # 31 digits
        ("1234_5678123456781234567812345678", "1234_5678123456781234567812345678"),  # not hex
        (PROJECT, PROJECT),
        (str(PROJECT), PROJECT),
        (str(PROJECT).upper(), PROJECT),
        (PROJECT.hex, PROJECT),
        (PROJECT.hex.upper(), PROJECT),
        (f"{{{PROJECT}}}", PROJECT),
        (f"urn:uuid:{PROJECT}", PROJECT),
        (f"URN:UUID:{str(PROJECT).upper()}", PROJECT),
        ("12345678123456781234567812345678", PROJECT),  # 32 digits are a UUID's hex
        (12345678123456781234567812345678, PROJECT),  # so is an int of 32 digits
    ],
)
def test_ids_and_their_canonical_form(given_id: object, canonical: object) -> None:
    parsed = parse_id(given_id)
    assert parsed == canonical
    assert type(parsed) is type(canonical)
    assert parse_id(id_text(parsed)) == parsed  # the stored text reads back to the same ID


def test_strings_are_exact_and_never_a_uuid_s_text() -> None:
    assert len({parse_id(text) for text in ("1", "01", "001", 1, "1.0", "1e0")}) == 5
    assert parse_id("u1") != parse_id("U1")
    assert id_text(PROJECT) == str(PROJECT)
    assert id_key(PROJECT) != id_key(str(PROJECT))  # an int and a string never collide


def test_the_error_names_what_is_wrong_never_the_value() -> None:
    secret = "sk_live_8f3Kq92/aZ"
    with pytest.raises(InvalidIdentifierError) as raised:
        parse_id(secret, "user ID")
    assert "8f3Kq92" not in str(raised.value)
    assert "user ID" in str(raised.value)
    assert "'/'" in str(raised.value)


_ID_ALPHABET = st.text(alphabet="0123456789abcdefABCDEF_.-xyzXYZ", min_size=1, max_size=70)


@given(_ID_ALPHABET | st.integers(min_value=0, max_value=10**70) | st.uuids())
def test_canonical_text_is_a_fixed_point_and_holds_no_separator(given_id: object) -> None:
    try:
        parsed = parse_id(given_id)
    except InvalidIdentifierError:
        return
    text = id_text(parsed)
    assert not SEPARATORS & set(text)
    assert 1 <= len(text) <= MAX_ID_LENGTH
    assert parse_id(text) == parsed
    assert id_text(parse_id(text)) == text
    if isinstance(parsed, str):
        assert parsed == (str(given_id) if isinstance(given_id, int) else given_id)
        digits = parsed.replace("-", "")
        assert len(digits) != 32 or not set(digits) <= set(string.hexdigits)  # no UUID's text


@given(st.lists(_ID_ALPHABET | st.uuids() | st.integers(0, 10**40), max_size=8))
def test_distinct_ids_never_share_a_key_or_a_scope(given_ids: list[object]) -> None:
    ids = set()
    for given_id in given_ids:
        try:
            ids.add(parse_id(given_id))
        except InvalidIdentifierError:
            continue
    assert len({CacheKey.project_prefix(pid) for pid in ids}) == len(ids)
    assert len({CacheKey.user_sessions(pid) for pid in ids}) == len(ids)
    assert len({scope_id("job", pid) for pid in ids}) == len(ids)
    for pid in ids:
        assert scope_of(scope_id("job", pid)) == (pid, "job")


def test_scopes_keep_the_uuid_form_and_name_string_projects_exactly() -> None:
    assert scope_id("job", PROJECT) == f"@{PROJECT.hex}@job"  # the stored form, unchanged
    assert scope_id("job", "42") == "@42@job"
    assert scope_of("@42@job") == ("42", "job")
    assert scope_of("@42@a@b") == ("42", "a@b")
    assert scope_id("@42@job", "42") == "@42@job"
    assert scope_of("job") == (None, "job")
    with pytest.raises(InvalidIdentifierError):
        scope_id("@42@job", "042")
    with pytest.raises(InvalidIdentifierError):
        scope_id(f"@{PROJECT.hex}@job", "42")


@pytest.mark.parametrize(
    "crafted",
    [
        f"@{LETTERED.hex.upper()}@job",  # a UUID's scope in another case: one record, one name
        f"@{PROJECT}@job",  # ... or in another form
        "@@job",
        "@job",
        "@-1@job",
        "@..@job",
        "@" + "x" * (MAX_ID_LENGTH + 1) + "@job",
    ],
)
def test_an_id_that_starts_with_at_must_be_a_canonical_scope(crafted: str) -> None:
    with pytest.raises(InvalidIdentifierError):
        scope_of(crafted)
    with pytest.raises(InvalidIdentifierError):
        scope_id(crafted, None)


def test_the_longest_scoped_ids_fit_a_key() -> None:
    project = "p" * MAX_ID_LENGTH
    longest = scope_id("t" * 128, project)
    assert len(longest) == 128 + SCOPE_LENGTH
    assert CacheKey.task(longest).value.startswith("task:{@")
    assert CacheKey.progress_events(longest).value.endswith(":events")
    assert CacheKey.rate_limit("project", project, 86_400, "p" * 32).value
    assert CacheKey.project_tag_index(project, CacheTag("t" * 100)).value


@given(_ID_ALPHABET | st.integers(min_value=0, max_value=10**40) | st.uuids())
def test_every_key_of_one_project_shares_one_cluster_slot(given_id: object) -> None:
    try:
        pid = parse_id(given_id)
    except InvalidIdentifierError:
        return
    lease = project_keys.lease(pid, "a.b")
    keys = [
        project_keys.data(pid),
        project_keys.entry(pid, "a.b"),
        project_keys.fills(pid),
        project_keys.index(pid),
        project_keys.tags(pid),
        project_keys.tag_index(pid, CacheTag("t")),
        lease.lease,
        lease.waiters,
        lease.done,
    ]
    space = KeySpace("jeex")
    assert len({key_slot(space(key)) for key in keys}) == 1
    assert all(space(key).startswith(space.prefixed(project_keys.prefix(pid))) for key in keys)
    user = [session_keys.user_sessions(pid), session_keys.user_session_adds(pid)]
    assert len({key_slot(space(key)) for key in user}) == 1
