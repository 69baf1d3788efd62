"""Machine-readable zones of travel documents (ICAO Doc 9303): parse, check, repair OCR.

Formats: TD3 (passports: 2 lines of 44) and TD1 (ID cards: 3 lines of 30). Every
numeric field carries a check digit (weights 7, 3, 1 repeating; digits count as
themselves, A-Z as 10-35, the filler `<` as 0), and a composite digit covers the
whole line, so a single OCR error anywhere in the checked fields is caught.

Why repair at all: OCR confuses the same few glyphs on OCR-B (O/0, I/1, S/5, B/8,
Z/2, G/6, D/0) and reads the filler `<` as K, C, « or く. The format says which
kind of character each position holds, so letters in digit fields and digits in
letter fields are folded back by position first. Fields that may hold both (the
document number, optional data) are ambiguous: for those, and only for the known
confusion pairs, a fold is tried when, and only when, it makes a failing check
digit pass, and the result says so (`repairs`). A repaired MRZ is still "valid",
but the number of repairs is reported, so a caller can be stricter.

This module is pure: strings in, a typed result out (no model, no image).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

WEIGHTS = (7, 3, 1)
FILLER = "<"

# OCR misreads, by the kind of position they land in
_TO_DIGIT = {"O": "0", "Q": "0", "D": "0", "I": "1", "L": "1", "Z": "2", "S": "5", "B": "8", "G": "6"}
_TO_LETTER = {"0": "O", "1": "I", "2": "Z", "5": "S", "8": "B", "6": "G"}
# what OCR makes of the filler chevron
_FILLER_LOOKALIKES = "«‹〈く＜KC(["
# In alphanumeric fields (document number, optional data) only O/0, the confusion OCR
# makes most on OCR-B, is tried: the composite digit is aligned with these fields' own
# digits (both start at a multiple of 3), so it adds no second check to a fold, and
# every extra pair tried is another chance to "repair" a real error into a wrong value.
_AMBIGUOUS = {"0": "O", "O": "0"}


def char_value(c: str) -> int:
    if c.isdigit():
        return int(c)
    if "A" <= c <= "Z":
        return ord(c) - ord("A") + 10
    if c == FILLER:
        return 0
    raise ValueError(f"not an MRZ character: {c!r}")


def check_digit(text: str) -> str:
    """The ICAO 9303 check digit of `text` (7-3-1 weights, mod 10)."""
    return str(sum(char_value(c) * WEIGHTS[i % 3] for i, c in enumerate(text)) % 10)


def is_valid(text: str, digit: str) -> bool:
    try:
        return check_digit(text) == digit
    except ValueError:
        return False


Kind = Literal["a", "n", "x"]  # letters (and filler), digits, either


@dataclass(frozen=True, slots=True)
class CheckResult:
    field: str
    valid: bool


@dataclass(frozen=True)
class Mrz:
    """A parsed MRZ. `valid`: every check digit holds (after the repairs listed)."""

    format: Literal["TD1", "TD3"]
    lines: tuple[str, ...]
    document_code: str
    issuing_state: str
    surname: str
    given_names: str
    document_number: str
    nationality: str
    birth_date: str  # YYMMDD as printed
    sex: str
    expiry_date: str  # YYMMDD
    optional_data: str
    checks: tuple[CheckResult, ...]
    repairs: tuple[str, ...] = field(default=())

    @property
    def valid(self) -> bool:
        return all(c.valid for c in self.checks)

    @property
    def failed_checks(self) -> list[str]:
        return [c.field for c in self.checks if not c.valid]

    @property
    def name(self) -> str:
        return " ".join(p for p in (self.given_names, self.surname) if p)

    def expiry(self) -> date | None:
        """Expiry dates are always this century or the next few decades (YY 00-99 -> 2000-2099)."""
        return _yymmdd(self.expiry_date, 2000)

    def birth(self, today: date | None = None) -> date | None:
        today = today or date.today()
        d = _yymmdd(self.birth_date, 2000)
        if d is not None and d > today:
            d = _yymmdd(self.birth_date, 1900)
        return d

    def expired(self, today: date | None = None) -> bool | None:
        e = self.expiry()
        return None if e is None else e < (today or date.today())

    def to_dict(self) -> dict[str, Any]:
        return {"format": self.format, "valid": self.valid, "document_code": self.document_code,
                "issuing_state": self.issuing_state, "surname": self.surname, "given_names": self.given_names,
                "document_number": self.document_number, "nationality": self.nationality,
                "birth_date": self.birth_date, "sex": self.sex, "expiry_date": self.expiry_date,
                "optional_data": self.optional_data, "checks": {c.field: c.valid for c in self.checks},
                "repairs": list(self.repairs), "lines": list(self.lines)}


def _yymmdd(s: str, century: int) -> date | None:
    if not re.fullmatch(r"\d{6}", s):
        return None
    try:
        return date(century + int(s[:2]), int(s[2:4]), int(s[4:6]))
    except ValueError:
        return None


# -- cleaning OCR text ------------------------------------------------------------------
def clean_line(text: str) -> str:
    """Upper case, filler lookalikes to `<`, spaces and anything else outside the MRZ alphabet dropped."""
    t = text.upper()
    for c in _FILLER_LOOKALIKES:
        if c in ("K", "C"):
            continue  # real letters: only folded inside runs of filler (below)
        t = t.replace(c, FILLER)
    t = re.sub(r"[^A-Z0-9<]", "", t)
    # a K or C next to filler on both sides, or in a run ending the line, is a misread chevron
    t = re.sub(r"(?<=<)[KC]+(?=<)", lambda m: FILLER * len(m.group()), t)
    t = re.sub(r"(?<=<<)[KC<]+$", lambda m: FILLER * len(m.group()), t)
    return t


def fit_length(line: str, n: int) -> str:
    """Make a line `n` long by stretching or shrinking its longest run of filler (OCR
    miscounts runs of identical glyphs more than anything else), else pad/cut at the end."""
    if len(line) == n:
        return line
    runs = [(m.end() - m.start(), m.start(), m.end()) for m in re.finditer(r"<{2,}", line)]
    if runs:
        length, a, b = max(runs)
        delta = n - len(line)
        if length + delta >= 1:
            return line[:a] + FILLER * (length + delta) + line[b:]
    return (line + FILLER * n)[:n]


def _fold(s: str, kind: Kind) -> tuple[str, int]:
    """Fold by the kind of position: returns the text and how many characters changed."""
    table = _TO_DIGIT if kind == "n" else _TO_LETTER if kind == "a" else {}
    out = "".join(table.get(c, c) if c != FILLER else c for c in s)
    return out, sum(a != b for a, b in zip(s, out))


def _checked(value: str, digit: str, name: str, repairs: list[str], kind: Kind) -> tuple[str, str, bool]:
    """A numeric or letter field and its check digit, folded by the kind of position."""
    v, nv = _fold(value, kind)
    d, nd = _fold(digit, "n")
    if nv or nd:
        repairs.append(f"{name}: folded {nv + nd} character(s) by position")
    return v, d, is_valid(v, d)


def _alternatives(value: str, digit: str) -> list[tuple[str, bool]]:
    """An alphanumeric field as read, then its one O/0 fold that makes the check digit
    pass, if exactly one does: trying folds until one passes would turn a check digit
    (1 in 10 chance of passing by luck) into no check at all."""
    d, _ = _fold(digit, "n")
    out = [(value, is_valid(value, d))]
    if out[0][1]:
        return out
    fixes = [value[:i] + _AMBIGUOUS[c] + value[i + 1:] for i, c in enumerate(value) if c in _AMBIGUOUS]
    fixes = [f for f in fixes if is_valid(f, d)]
    return out + [(fixes[0], True)] if len(fixes) == 1 else out


def _name(field: str) -> tuple[str, str]:
    field, _ = _fold(field, "a")
    surname, _, given = field.partition("<<")
    return surname.replace(FILLER, " ").strip(), given.replace(FILLER, " ").strip()


def _pick(fields: list[tuple[str, str, str]], composite: str, build: Any, repairs: list[str]
          ) -> tuple[tuple[str, ...], tuple[bool, ...], bool]:
    """Choose, for each alphanumeric field, the reading (as read, or one confusion fold)
    for which the composite digit holds; fewest folds first."""
    alts = [_alternatives(v, d) for _n, v, d in fields]
    d_comp, _ = _fold(composite, "n")
    combos = sorted(itertools.product(*[range(len(a)) for a in alts]), key=lambda c: sum(1 for k in c if k))
    for combo in combos:
        chosen = tuple(alts[i][k][0] for i, k in enumerate(combo))
        if is_valid(build(chosen), d_comp):
            for (name, v, _d), c in zip(fields, chosen):
                if c != v:
                    repairs.append(f"{name}: {v!r} read as {c!r} (check digits)")
            return chosen, tuple(alts[i][k][1] for i, k in enumerate(combo)), True
    return tuple(a[0][0] for a in alts), tuple(a[0][1] for a in alts), False


def parse_td3(line1: str, line2: str) -> Mrz:
    l1, l2 = fit_length(clean_line(line1), 44), fit_length(clean_line(line2), 44)
    repairs: list[str] = []
    code, _ = _fold(l1[0:2], "a")
    state, _ = _fold(l1[2:5], "a")
    surname, given = _name(l1[5:44])
    d_num, _ = _fold(l2[9], "n")
    nationality, _ = _fold(l2[10:13], "a")
    birth, d_birth, ok_birth = _checked(l2[13:19], l2[19], "birth_date", repairs, "n")
    sex = l2[20] if l2[20] in "MFX<" else {"H": "M", "P": "F"}.get(l2[20], l2[20])
    expiry, d_exp, ok_exp = _checked(l2[21:27], l2[27], "expiry_date", repairs, "n")
    d_opt = FILLER if l2[42] == FILLER else _fold(l2[42], "n")[0]
    optional = l2[28:42]

    def composite(chosen: tuple[str, ...]) -> str:
        return chosen[0] + d_num + birth + d_birth + expiry + d_exp + chosen[1] + d_opt

    if d_opt == FILLER:  # an unused personal number may carry `<` as its check digit
        (number, _o), (ok_num, _), ok_comp = _pick(
            [("document_number", l2[0:9], d_num), ("optional_data", optional, "0")], l2[43],
            composite, repairs)
        ok_opt = set(optional) <= {FILLER}
    else:
        (number, optional), (ok_num, ok_opt), ok_comp = _pick(
            [("document_number", l2[0:9], d_num), ("optional_data", optional, d_opt)], l2[43], composite, repairs)
    d_comp, _ = _fold(l2[43], "n")
    checks = (CheckResult("document_number", ok_num), CheckResult("birth_date", ok_birth),
              CheckResult("expiry_date", ok_exp), CheckResult("optional_data", ok_opt),
              CheckResult("composite", ok_comp))
    fixed2 = number + d_num + nationality + birth + d_birth + sex + expiry + d_exp + optional + d_opt + d_comp
    return Mrz("TD3", (code + state + _fold(l1[5:44], "a")[0], fixed2), code.replace(FILLER, ""), state.replace(FILLER, ""),
               surname, given, number.replace(FILLER, ""), nationality.replace(FILLER, ""), birth, sex, expiry,
               optional.replace(FILLER, ""), checks, tuple(repairs))


def parse_td1(line1: str, line2: str, line3: str) -> Mrz:
    l1, l2, l3 = (fit_length(clean_line(x), 30) for x in (line1, line2, line3))
    repairs: list[str] = []
    code, _ = _fold(l1[0:2], "a")
    state, _ = _fold(l1[2:5], "a")
    d_num, _ = _fold(l1[14], "n")
    opt1 = l1[15:30]
    birth, d_birth, ok_birth = _checked(l2[0:6], l2[6], "birth_date", repairs, "n")
    sex = l2[7]
    expiry, d_exp, ok_exp = _checked(l2[8:14], l2[14], "expiry_date", repairs, "n")
    nationality, _ = _fold(l2[15:18], "a")
    opt2 = l2[18:29]
    d_comp, _ = _fold(l2[29], "n")

    def composite(chosen: tuple[str, ...]) -> str:
        return chosen[0] + d_num + opt1 + birth + d_birth + expiry + d_exp + opt2

    (number,), (ok_num,), ok_comp = _pick([("document_number", l1[5:14], d_num)], l2[29], composite, repairs)
    surname, given = _name(l3)
    checks = (CheckResult("document_number", ok_num), CheckResult("birth_date", ok_birth),
              CheckResult("expiry_date", ok_exp), CheckResult("composite", ok_comp))
    lines = (code + state + number + d_num + opt1, birth + d_birth + sex + expiry + d_exp + nationality + opt2 + d_comp,
             _fold(l3, "a")[0])
    return Mrz("TD1", lines, code.replace(FILLER, ""), state.replace(FILLER, ""), surname, given,
               number.replace(FILLER, ""), nationality.replace(FILLER, ""), birth, sex, expiry,
               (opt1 + opt2).replace(FILLER, ""), checks, tuple(repairs))


def _looks_like_mrz(line: str) -> bool:
    """Long enough and with filler (a detector box may stop short of a row's trailing `<`s)."""
    return len(line) >= 15 and line.count(FILLER) >= 2


def _score(m: Mrz) -> tuple[int, int]:
    return (sum(c.valid for c in m.checks) - len(m.checks), -len(m.repairs))


def find_mrz(lines: list[str] | list[list[str]]) -> Mrz | None:
    """The MRZ among text lines read top to bottom (OCR output): the best-checking TD3
    pair or TD1 triple of consecutive MRZ-like lines, or None.

    Each line may come with several readings (the recogniser run on the line as
    photographed, binarised, padded): every combination of a group's readings is
    parsed and the one whose check digits hold best wins, so one bad reading of a
    line does not sink the others."""
    rows = [[x] if isinstance(x, str) else list(x) for x in lines]
    rows = [[clean_line(x) for x in r] for r in rows]
    rows = [r for r in rows if any(_looks_like_mrz(c) or (len(c) >= 28 and re.search(r"\d{6}", c)) for c in r)]
    best: Mrz | None = None
    for i in range(len(rows) - 1):
        a, b = rows[i], rows[i + 1]
        long_ = max(map(len, a)) > 34 and max(map(len, b)) > 34
        if any(x[:1] == "P" for x in a) or long_:
            for x, y in itertools.product(a, b):
                m = parse_td3(x, y)
                if best is None or _score(m) > _score(best):
                    best = m
        if i + 2 < len(rows) and min(map(len, a + b + rows[i + 2])) <= 36:
            for x, y, z in itertools.product(a, b, rows[i + 2]):
                m = parse_td1(x, y, z)
                if best is None or _score(m) > _score(best):
                    best = m
    return best


# -- composing MRZ lines (specimens, tests) ---------------------------------------------
def _pad(s: str, n: int) -> str:
    s = re.sub(r"[^A-Z0-9<]", FILLER, s.upper().replace(" ", FILLER))
    return (s + FILLER * n)[:n]


def compose_td3(*, surname: str, given_names: str, number: str, nationality: str, birth: str, sex: str,
                expiry: str, issuing_state: str | None = None, optional: str = "", code: str = "P") -> tuple[str, str]:
    """The two lines of a passport MRZ with correct check digits (for specimens and tests)."""
    state = issuing_state or nationality
    l1 = _pad(code, 2) + _pad(state, 3) + _pad(f"{surname}<<{given_names}", 39)
    num, opt = _pad(number, 9), _pad(optional, 14)
    d_opt = check_digit(opt) if opt.strip(FILLER) else FILLER
    body = num + check_digit(num) + _pad(nationality, 3) + birth + check_digit(birth) + sex + expiry + \
        check_digit(expiry) + opt + d_opt
    comp = check_digit(num + check_digit(num) + birth + check_digit(birth) + expiry + check_digit(expiry) + opt + d_opt)
    return l1, body + comp


def compose_td1(*, surname: str, given_names: str, number: str, nationality: str, birth: str, sex: str,
                expiry: str, issuing_state: str | None = None, optional: str = "", code: str = "I"
                ) -> tuple[str, str, str]:
    state = issuing_state or nationality
    num = _pad(number, 9)
    l1 = _pad(code, 2) + _pad(state, 3) + num + check_digit(num) + _pad(optional, 15)
    head = birth + check_digit(birth) + sex + expiry + check_digit(expiry) + _pad(nationality, 3) + FILLER * 11
    comp = check_digit(l1[5:30] + head[0:7] + head[8:15] + head[18:29])
    return l1, head + comp, _pad(f"{surname}<<{given_names}", 30)


# ICAO Doc 9303 Part 4 (TD3) and Part 5 (TD1) specimen MRZs: the fictional state "Utopia"
SPECIMEN_TD3 = ("P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
                "L898902C36UTO7408122F1204159ZE184226B<<<<<10")
SPECIMEN_TD1 = ("I<UTOD231458907<<<<<<<<<<<<<<<",
                "7408122F1204159UTO<<<<<<<<<<<6",
                "ERIKSSON<<ANNA<MARIA<<<<<<<<<<")
