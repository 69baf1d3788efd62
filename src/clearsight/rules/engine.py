"""Alert rules as data, and the engine that evaluates them over the event stream.

An administrator writes rules in YAML or JSON (or edits them in the console); no
code changes. A rule says which events it is about (type, camera, zone, field
conditions, minimum duration), optionally how many must happen within a window
(`count`), how long to stay quiet after firing (`cooldown_s`), and where the
alert goes (`actions`: names of sinks). Conditions are a small closed vocabulary
of comparison operators so a rule can be validated up front and can never run
code.

Example::

    rules:
      - name: loitering-at-door
        when: {type: zone.dwell, zone: door, min_duration: 30}
        cooldown_s: 300
        actions: [store, webhook]
      - name: crowd-at-gate
        when: {type: zone.enter, zone: gate, count: {at_least: 5, within_s: 60}}
      - name: vip
        when: {type: watchlist.match, fields: {similarity: {gte: 0.6}}}
        severity: critical
"""

from __future__ import annotations

import collections
import dataclasses
import fnmatch
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..errors import InputError
from ..types import Event
from .events import ALERT, make_event

OPS = ("eq", "ne", "gt", "gte", "lt", "lte", "in", "not_in", "contains", "exists")


class RuleError(InputError):
    """A rule file or rule definition is invalid (the message names the field)."""

    code = "invalid_rule"


class CountCondition(BaseModel):
    """Fire only when enough matching events happen within a time window."""

    model_config = ConfigDict(extra="forbid")
    at_least: int = Field(ge=1, le=1_000_000, description="Least number of matching events (or distinct tracks) in the window.")
    within_s: float = Field(gt=0, description="Length of the sliding window, in seconds.")
    distinct_tracks: bool = Field(default=False, description="Count distinct tracks instead of events (5 people, "
                                  "not 5 events of one person).")


class Condition(BaseModel):
    """Which events a rule is about; every given criterion must hold."""

    model_config = ConfigDict(extra="forbid")
    type: str | list[str] = Field(description="Event type(s): exact names or glob patterns such as `zone.*`.")
    camera: str | list[str] | None = Field(default=None, description="Camera name(s) or patterns; null: any camera.")
    zone: str | list[str] | None = Field(default=None, description="Zone or line name(s) or patterns, matched "
                                         "against the event's `zone`; null: any.")
    fields: dict[str, Any] = Field(
        default_factory=dict, description="Conditions on event data: {dotted.path: value} for equality or "
        "{dotted.path: {operator: value}} with operators " + ", ".join(OPS) + ".")
    min_duration: float | None = Field(default=None, ge=0, description="The event's `duration_s` must be at least "
                                       "this many seconds.")
    count: CountCondition | None = Field(default=None, description="Fire only when enough matching events happen "
                                         "within a window; null: every matching event.")

    @field_validator("fields")
    @classmethod
    def _ops_known(cls, v: dict[str, Any]) -> dict[str, Any]:
        for key, cond in v.items():
            if isinstance(cond, dict):
                bad = [op for op in cond if op not in OPS]
                if bad:
                    raise ValueError(f"field {key!r}: unknown operator(s) {bad}; use {', '.join(OPS)}")
        return v


class Rule(BaseModel):
    """An alert rule: when matching events happen, send an `alert` event to sinks."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100, description="Unique rule name; alerts carry it as `rule`.")
    when: Condition = Field(description="Which events fire the rule.")
    cooldown_s: float = Field(default=0.0, ge=0, description="Seconds to stay quiet after firing.")
    cooldown_scope: Literal["camera", "track"] = Field(
        default="camera", description="Cool down per camera, or per (camera, track): one alert per person.")
    actions: list[str] | None = Field(default=None, description="Names of the sinks that receive the alert; null: "
                                      "every sink.")
    severity: Literal["info", "warning", "critical"] = Field(default="warning", description="Severity the alert "
                                                             "carries.")
    enabled: bool = Field(default=True, description="False keeps the rule but never fires it.")
    description: str = Field(default="", description="Free text for people reading the rule.")


class RuleSet(BaseModel):
    """A rules file: a list of rules with unique names."""

    model_config = ConfigDict(extra="forbid")
    rules: list[Rule] = Field(default_factory=list, description="The rules, evaluated in order.")

    @model_validator(mode="after")
    def _unique(self) -> RuleSet:
        names = [r.name for r in self.rules]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"rule names must be unique; repeated: {', '.join(dup)}")
        return self


def format_validation_error(exc: ValidationError, where: str) -> str:
    parts = []
    for err in exc.errors()[:8]:
        loc = ".".join(str(p) for p in err["loc"]) or "(top)"
        parts.append(f"{loc}: {err['msg']}")
    more = f" (+{exc.error_count() - 8} more)" if exc.error_count() > 8 else ""
    return f"invalid {where}: " + "; ".join(parts) + more


def parse_rules(data: Any) -> list[Rule]:
    """Rules from parsed YAML/JSON: a list of rules or {"rules": [...]}."""
    if isinstance(data, list):
        data = {"rules": data}
    try:
        return RuleSet.model_validate(data or {}).rules
    except ValidationError as exc:
        raise RuleError(format_validation_error(exc, "rules")) from None


def load_rules(path: str | Path) -> list[Rule]:
    import yaml

    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text())
    except OSError as exc:
        raise RuleError(f"cannot read rules file {p}: {exc}") from None
    except yaml.YAMLError as exc:
        raise RuleError(f"rules file {p} is not valid YAML: {exc}") from None
    return parse_rules(data)


# --------------------------------------------------------------------------- matching
def _get(data: dict[str, Any], path: str) -> tuple[bool, Any]:
    cur: Any = data
    for part in path.split("."):
        if isinstance(cur, dict) and part in cur:
            cur = cur[part]
        else:
            return False, None
    return True, cur


def _compare(op: str, actual: Any, expected: Any) -> bool:
    try:
        if op == "eq":
            return actual == expected
        if op == "ne":
            return actual != expected
        if op == "gt":
            return actual > expected
        if op == "gte":
            return actual >= expected
        if op == "lt":
            return actual < expected
        if op == "lte":
            return actual <= expected
        if op == "in":
            return actual in expected
        if op == "not_in":
            return actual not in expected
        if op == "contains":
            return expected in actual
    except TypeError:
        return False  # comparing a string to a number is a non-match, not a crash
    return False


def _any_of(value: str | None, pattern: str | list[str] | None) -> bool:
    if pattern is None:
        return True
    if value is None:
        return False
    pats = [pattern] if isinstance(pattern, str) else pattern
    return any(fnmatch.fnmatchcase(value, p) for p in pats)


def matches(cond: Condition, event: Event) -> bool:
    """Does one event satisfy the condition (before counting)?"""
    if not _any_of(event.type, cond.type):
        return False
    if not _any_of(event.camera, cond.camera):
        return False
    if cond.zone is not None and not _any_of(event.data.get("zone"), cond.zone):
        return False
    if cond.min_duration is not None:
        dur = event.data.get("duration_s")
        if not isinstance(dur, (int, float)) or dur < cond.min_duration:
            return False
    for key, spec in cond.fields.items():
        found, actual = _get(event.data, key)
        if isinstance(spec, dict):
            for op, expected in spec.items():
                if op == "exists":
                    if bool(expected) != found:
                        return False
                elif not found or not _compare(op, actual, expected):
                    return False
        elif not found or actual != spec:
            return False
    return True


class RuleEngine:
    """Evaluates rules over events; returns the alerts (as `alert` events) that fire.

    Thread-safe: several cameras may feed one engine.
    """

    def __init__(self, rules: Sequence[Rule] = ()) -> None:
        self._lock = threading.Lock()
        self.rules: list[Rule] = []
        self._history: dict[tuple[str, str], collections.deque[tuple[float, tuple[int, ...]]]] = {}
        self._last_fired: dict[tuple[str, ...], float] = {}
        self.set_rules(rules)

    def set_rules(self, rules: Iterable[Rule | dict[str, Any]]) -> None:
        """Replace the rule set (the console's rule editor calls this; state resets)."""
        parsed = parse_rules([r.model_dump() if isinstance(r, Rule) else r for r in rules])
        with self._lock:
            self.rules = parsed
            self._history.clear()
            self._last_fired.clear()

    def process(self, event: Event) -> list[tuple[Rule, Event]]:
        if event.type == ALERT:
            return []  # alerts never trigger rules (no loops)
        fired: list[tuple[Rule, Event]] = []
        with self._lock:
            for rule in self.rules:
                if not rule.enabled or not matches(rule.when, event):
                    continue
                count_info: dict[str, Any] = {}
                if rule.when.count is not None:
                    c = rule.when.count
                    hist = self._history.setdefault((rule.name, event.camera), collections.deque())
                    hist.append((event.time, event.track_ids))
                    while hist and hist[0][0] < event.time - c.within_s:
                        hist.popleft()
                    n = len({t for _, ids in hist for t in ids}) if c.distinct_tracks else len(hist)
                    if n < c.at_least:
                        continue
                    count_info = {"count": n, "within_s": c.within_s}
                key: tuple[str, ...] = (rule.name, event.camera)
                if rule.cooldown_scope == "track":
                    key += tuple(str(t) for t in event.track_ids)
                last = self._last_fired.get(key)
                if last is not None and event.time - last < rule.cooldown_s:
                    continue
                self._last_fired[key] = event.time
                if rule.when.count is not None:
                    self._history.get((rule.name, event.camera), collections.deque()).clear()
                alert = make_event(
                    ALERT, event.camera, event.time, event.track_ids, event.snapshot_jpeg,
                    rule=rule.name, severity=rule.severity, trigger=event.type, event=event.data, **count_info,
                )
                alert = dataclasses.replace(alert, offset_s=event.offset_s, frame=event.frame)  # where the trigger was
                fired.append((rule, alert))
        return fired


__all__ = ["Condition", "CountCondition", "Rule", "RuleEngine", "RuleSet", "RuleError", "load_rules", "matches", "parse_rules"]
