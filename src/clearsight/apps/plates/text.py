"""Plate text as stored and searched: one normal form, and wildcard patterns over it.

Stored text is what readers return (upper-case A-Z, 0-9, Chinese plates with their
province character) without separators, so `AB-123`, `ab 123` and `AB123` are one
plate. A search pattern is written the way people write partial plates: `?` is one
character, `*` any run (`AB?12*`); it becomes a SQL LIKE pattern, so the database
does the matching on its index, with nothing in it that LIKE would read as syntax.
"""

from __future__ import annotations

import re

from ...errors import InputError

MAX_LEN = 16
_SEPARATORS = re.compile(r"[\s\-\.·•_/|]+")
_PLATE_CHAR = r"A-Z0-9\u4e00-\u9fff"  # Latin plates and CN provinces/special characters (警, 学, 挂 ...)
_PLATE = re.compile(f"^[{_PLATE_CHAR}]+$")
_PATTERN = re.compile(f"^[{_PLATE_CHAR}?*]+$")


def normalise_plate(text: str) -> str:
    """The stored form of a plate, or InputError naming what is wrong with it."""
    if not isinstance(text, str):
        raise InputError("a plate must be text")
    t = _SEPARATORS.sub("", text.strip().upper())
    if not t:
        raise InputError("a plate must not be empty")
    if len(t) > MAX_LEN:
        raise InputError(f"a plate has at most {MAX_LEN} characters, {text!r} has {len(t)}")
    if not _PLATE.match(t):
        raise InputError(f"{text!r} is not a plate: use letters A-Z, digits 0-9 (and the province character of "
                         "Chinese plates)")
    return t


def wildcard_like(pattern: str, *, min_literals: int = 0) -> str:
    """`AB?12*` -> the SQL LIKE pattern `AB_12%` (InputError for anything else).

    `min_literals` characters must be real plate characters: a pattern of wildcards
    alone would list every plate seen, which is not a search for one."""
    if not isinstance(pattern, str):
        raise InputError("a plate search pattern must be text")
    p = _SEPARATORS.sub("", pattern.strip().upper())
    p = re.sub(r"\*+", "*", p)
    if not p:
        raise InputError("a plate search pattern must not be empty (use ? for one character, * for any run)")
    if len(p) > MAX_LEN + 8:
        raise InputError(f"a plate search pattern has at most {MAX_LEN + 8} characters")
    if not _PATTERN.match(p):
        raise InputError(f"{pattern!r} is not a plate search pattern: letters A-Z, digits 0-9, ? (one character) "
                         "and * (any run)")
    literals = sum(c not in "?*" for c in p)
    if literals < min_literals:
        raise InputError(f"a plate search must name at least {min_literals} characters of the plate "
                         f"({pattern!r} names {literals})")
    return p.replace("?", "_").replace("*", "%")


def wildcard_match(pattern: str, text: str) -> bool:
    """Whether `text` matches the wildcard `pattern` (the same rule as the SQL search)."""
    like = wildcard_like(pattern)
    rx = "".join("." if c == "_" else ".*" if c == "%" else re.escape(c) for c in like)
    return re.fullmatch(rx, normalise_plate(text)) is not None


__all__ = ["MAX_LEN", "normalise_plate", "wildcard_like", "wildcard_match"]
