"""Free text that reaches the audit log: one line of printable characters."""

from __future__ import annotations

import unicodedata

from jeex_cache.core.errors import InvalidInputError

__all__ = ["MAX_REASON_LENGTH", "validate_reason"]


MAX_REASON_LENGTH = 200


# Control (Cc), format (Cf: bidi overrides, zero-width), line and paragraph separators (Zl,
# Zp) and lone surrogates (Cs): each could break or forge a log line.
_UNPRINTABLE = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})


def validate_reason(reason: str) -> str:
    """A ``reason`` for the audit log (revocation, invalidation): one line of printable text,
    at most ``MAX_REASON_LENGTH`` characters. No control character, line or paragraph
    separator (NEL U+0085, U+2028, U+2029 included) passes: a reason cannot forge a log line.
    """
    if not isinstance(reason, str):
        raise InvalidInputError(f"reason must be a string, got {type(reason).__name__}")
    if len(reason) > MAX_REASON_LENGTH:
        raise InvalidInputError(f"reason must be at most {MAX_REASON_LENGTH} characters")
    for char in reason:
        if unicodedata.category(char) in _UNPRINTABLE:
            raise InvalidInputError(
                f"reason must be one line of printable text; it holds U+{ord(char):04X}"
            )
    return reason
