"""Per-country plate-format rules: what a plate can look like, and O/0, I/1 folding.

A generic text reader confuses look-alike glyphs (O/0, I/1, S/5, B/8, Z/2, G/6) that
plate fonts make genuinely ambiguous. A plate format says, per position, whether a
letter or a digit belongs there, so a confusion is fixed where the format is
certain and left alone where it is not (measured on the true plate crops: EU 78/108
-> 97 with folding, US 68/100 -> 76; model-supply.md). A read that fits no format of
its country is rejected: that is what keeps shop signs and stickers out.

Patterns use `L` for a letter, `9` for a digit and `A` for either. Each country
lists its patterns most specific first; `match` returns the fit with the fewest
substitutions (ties: the earlier pattern).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Look-alikes, both ways: what a letter reads as when a digit belongs there, and back.
TO_DIGIT = {"O": "0", "Q": "0", "D": "0", "U": "0", "I": "1", "L": "1", "T": "1", "J": "1", "Z": "2", "S": "5", "B": "8", "G": "6"}
TO_LETTER = {"0": "O", "1": "I", "2": "Z", "5": "S", "8": "B", "6": "G", "4": "A", "7": "T", "3": "B"}
# US plates are vanity-heavy and their state formats overlap, so a position rarely
# proves a letter or a digit: there only the O/0 and I/1 pairs are folded (with the
# full look-alike table, 2->Z, 7->T, 8->B broke 9 of 200 US crops).
SUBSTITUTIONS: dict[str, tuple[dict[str, str], dict[str, str]]] = {
    "us": ({"O": "0", "I": "1"}, {"0": "O", "1": "I"}),
}
# The folding the comparison of texts uses (bench, hot-list matching): pairs no plate font keeps apart.
_FOLD = str.maketrans({"O": "0", "Q": "0", "I": "1"})

CN_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_CN = re.compile(rf"^[{CN_PROVINCES}][A-Z][A-Z0-9]{{4,6}}[挂学警港澳领使]?$|^使[0-9A-Z]{{6}}$|^[A-Z0-9]{{5,6}}[港澳领]$")

# Patterns per family, most specific first. EU lists the national formats seen in
# European traffic (HR/FR/IT LL999LL, PL/SK LL99999 and LLL9999, CZ 9L99999, UK
# LL99LLL, ...); `generic` keeps vanity and unlisted formats, read as they are.
PATTERNS: dict[str, tuple[str, ...]] = {
    "br": ("LLL9999", "LLL9L99"),
    "eu": (
        "LL999LL", "LL99999", "LLL99999", "9L99999", "9LL9999", "LL99LLL", "LLL9999", "LLL999", "9999LLL", "LL9999LL",
        "L9999LL", "LL9999L",
    ),
    "us": ("9LLL999", "LLL9999", "999LLL", "LLL999", "99L999L", "9L99999", "LLL99L"),
}
# EU plates carry marks a text reader reads as a character: the country band's letter
# before the text ("HRK708AI" on Croatian plates) and the registration emblem in the
# middle of Czech/Slovak plates ("2T4 8 0211"). A read one character too long may
# drop one at those positions (index 0 or 3) when that makes it fit a national format;
# each drop costs like a substitution. Measured on openalpr EU: 8 of 108 plates.
EXTRA_MARKS: dict[str, tuple[int, ...]] = {"eu": (0, 3)}
GENERIC: dict[str, tuple[int, int]] = {"eu": (4, 8), "us": (2, 8)}  # free-form lengths accepted as read
_CHAR_OK = re.compile(r"^[A-Z0-9]+$")


@dataclass(frozen=True, slots=True)
class FormatMatch:
    text: str
    country: str
    pattern: str  # the matched pattern, or "generic"
    substitutions: int


def normalise(raw: str) -> str:
    """Upper-case A-Z/0-9 only: separators, spaces, dots and stray symbols dropped."""
    return re.sub(r"[^A-Z0-9]", "", raw.upper())


def fold(text: str) -> str:
    """A key under which O/0/Q and I/1 are one symbol (for comparing reads, not for display)."""
    return text.upper().translate(_FOLD)


def _fit(text: str, pattern: str, country: str = "") -> tuple[str, int] | None:
    if len(text) != len(pattern):
        return None
    to_digit, to_letter = SUBSTITUTIONS.get(country, (TO_DIGIT, TO_LETTER))
    out = []
    subs = 0
    for ch, want in zip(text, pattern):
        if want == "L" and not ch.isalpha():
            if ch not in to_letter:
                return None
            ch, subs = to_letter[ch], subs + 1
        elif want == "9" and not ch.isdigit():
            if ch not in to_digit:
                return None
            ch, subs = to_digit[ch], subs + 1
        out.append(ch)
    return "".join(out), subs


def match(raw: str, country: str, *, max_substitutions: int = 2) -> FormatMatch | None:
    """The best reading of `raw` under `country`'s formats, or None when none fits."""
    text = normalise(raw)
    if not text:
        return None
    variants = [(text, 0)] + [(text[:i] + text[i + 1 :], 1) for i in EXTRA_MARKS.get(country, ()) if i < len(text)]
    best: FormatMatch | None = None
    for variant, cost in variants:
        for pattern in PATTERNS.get(country, ()):
            fit = _fit(variant, pattern, country)
            if fit is None:
                continue
            subs = fit[1] + cost
            if subs <= max_substitutions and (best is None or subs < best.substitutions):
                best = FormatMatch(fit[0], country, pattern, subs)
    if best is not None:
        return best
    lo_hi = GENERIC.get(country)
    if lo_hi and lo_hi[0] <= len(text) <= lo_hi[1] and _CHAR_OK.match(text):
        return FormatMatch(text, country, "generic", 0)
    return None


# When several families accept a text (LLL9999 is Brazilian and New York), the more
# specific rule wins: a listed pattern over a generic one, then this order.
_AUTO_ORDER = ("br", "eu", "us")


def match_any(raw: str, countries: tuple[str, ...] = _AUTO_ORDER) -> FormatMatch | None:
    """The best fit over several families (for `country="auto"`)."""
    fits = [m for c in countries if (m := match(raw, c)) is not None]
    if not fits:
        return None
    return min(fits, key=lambda m: (m.pattern == "generic", m.substitutions, countries.index(m.country)))


def match_cn(raw: str) -> str | None:
    """A Chinese plate text (province character first) or None."""
    text = re.sub(r"[^0-9A-Z\u4e00-\u9fff]", "", raw.upper())
    return text if _CN.match(text) else None
