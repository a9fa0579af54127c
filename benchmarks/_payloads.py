"""The three documents every benchmark measures: 1 KB nested, 100-byte flat, 100 KB.

The 1 KB one is session-like: nested dicts and lists, floats, booleans and ``None``; the nulls
matter, since they are what makes the codec look for a NaN or an infinity.
"""

from __future__ import annotations

from typing import Any

import orjson

__all__ = ["PAYLOADS", "flat_100b", "large_100kb", "nested_1kb"]


def nested_1kb() -> dict[str, Any]:
    """A session-like document of about 1 KB: nesting, lists, floats, booleans and nulls."""
    return {
        "user": {"id": "u-1042", "name": "Dana Whitfield", "email": "dana@example.com"},
        "roles": ["owner", "maintainer"],
        "active": True,
        "mfa": False,
        "locale": None,
        "scores": [0.91, 0.42, 0.07, 1.0],
        "quota": {"used_mb": 1843.5, "limit_mb": 2048.0, "ratio": 0.9001, "grace": None},
        "projects": [
            {
                "id": f"p-{i}",
                "name": f"Project {i}",
                "progress": round(i / 7, 4),
                "archived": i % 3 == 0,
                "owner": None if i % 2 else "u-1042",
                "tags": ["alpha", "beta"][: i % 3],
            }
            for i in range(6)
        ],
        "last_seen": {"ip": "203.0.113.7", "at": 1745340483.125, "agent": "Mozilla/5.0"},
        "flags": {"beta": True, "dark_mode": None, "weights": [0.5, 0.25, 0.125]},
        "version": 17,
    }


def flat_100b() -> dict[str, Any]:
    """A flat document of about 100 bytes: a handful of scalars."""
    return {
        "id": "u-1042",
        "n": 17,
        "ok": True,
        "score": 0.5,
        "tz": None,
        "plan": "pro",
        "region": "eu-west-1",
        "seats": 25,
    }


def large_100kb() -> dict[str, Any]:
    """A document of about 100 KB: a hundred copies of the 1 KB one, under one key."""
    return {"items": [nested_1kb() for _ in range(100)], "total": 100, "cursor": None}


PAYLOADS: dict[str, Any] = {"1kb": nested_1kb, "100b": flat_100b, "100kb": large_100kb}

if __name__ == "__main__":
    for name, make in PAYLOADS.items():
        print(name, len(orjson.dumps(make())))
