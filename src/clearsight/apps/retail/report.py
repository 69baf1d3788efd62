"""The daily retail report, computed from stored events (no table of its own).

Why from events: `retail.footfall`, `retail.dwell`, `retail.queue` and
`retail.heatmap` are already in the event store with their times, so a report for
any day, camera or time zone is a query away, and deleting events by retention
deletes the report's inputs with them. One crossing per event keeps the counts
exact whatever the period of `retail.footfall_hourly`.
"""

from __future__ import annotations

import csv
import io
import statistics
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, timedelta, timezone
from typing import Any

import numpy as np

from ...errors import InputError
from .analyser import DWELL, FOOTFALL, HEATMAP, QUEUE

DWELL_BINS_S: tuple[float, ...] = (0, 10, 30, 60, 120, 300, 600)  # the last bin is open-ended


def day_bounds(day: date, tz_offset_min: int = 0) -> tuple[float, float]:
    """Unix start and end of a calendar day in a fixed UTC offset."""
    if not -14 * 60 <= tz_offset_min <= 14 * 60:
        raise InputError("tz_offset_min must be within -840..840 minutes")
    start = datetime(day.year, day.month, day.day, tzinfo=timezone(timedelta(minutes=tz_offset_min)))
    return start.timestamp(), (start + timedelta(days=1)).timestamp()


def bin_labels(bins: tuple[float, ...] = DWELL_BINS_S) -> list[str]:
    return [f"{a:g}-{b:g}s" for a, b in zip(bins, bins[1:])] + [f">={bins[-1]:g}s"]


def daily_report(events: Iterable[Mapping[str, Any]], day: date, tz_offset_min: int = 0,
                 bins: tuple[float, ...] = DWELL_BINS_S) -> dict[str, Any]:
    """Footfall per hour and line, dwell histograms per zone, queue per hour, the day's occupancy heatmap."""
    start, end = day_bounds(day, tz_offset_min)
    foot: dict[tuple[str, str], list[list[int]]] = {}  # (camera, line) -> 24 x [in, out]
    stays: dict[tuple[str, str], list[float]] = {}
    queue: dict[tuple[str, str], list[list[tuple[float, float | None]]]] = {}  # (camera, zone) -> 24 x [(len, wait)]
    heat: dict[str, dict[str, Any]] = {}
    cameras: set[str] = set()
    for e in events:
        t = float(e["time"])
        if not start <= t < end:
            continue
        hour = int((t - start) // 3600)
        cam, d = str(e["camera"]), e.get("data") or {}
        cameras.add(cam)
        if e["type"] == FOOTFALL:
            row = foot.setdefault((cam, str(d.get("line"))), [[0, 0] for _ in range(24)])
            row[hour][0 if d.get("direction") == "in" else 1] += 1
        elif e["type"] == DWELL and d.get("duration_s") is not None:
            stays.setdefault((cam, str(d.get("zone"))), []).append(float(d["duration_s"]))
        elif e["type"] == QUEUE:
            q = queue.setdefault((cam, str(d.get("zone"))), [[] for _ in range(24)])
            q[hour].append((float(d.get("length") or 0), d.get("wait_s")))
        elif e["type"] == HEATMAP and isinstance(d.get("occupancy"), dict):
            occ = d["occupancy"]
            grid = np.asarray(occ.get("grid") or [[0.0]], np.float64)
            h = heat.get(cam)
            if h is None or np.asarray(h["grid"]).shape != grid.shape:
                heat[cam] = {"frame": occ.get("frame"), "grid": grid}
            else:
                h["grid"] = h["grid"] + grid
    edges = np.asarray(bins, np.float64)
    return {
        "date": day.isoformat(), "tz_offset_min": tz_offset_min, "start": start, "end": end,
        "cameras": sorted(cameras),
        "footfall": [{"camera": c, "line": ln, "hours": [{"hour": h, "in": v[0], "out": v[1]} for h, v in enumerate(rows)],
                      "in": sum(v[0] for v in rows), "out": sum(v[1] for v in rows)}
                     for (c, ln), rows in sorted(foot.items())],
        "dwell": [{"camera": c, "zone": z, "stays": len(v), "mean_s": round(statistics.fmean(v), 1),
                   "median_s": round(statistics.median(v), 1), "bins": bin_labels(bins),
                   "counts": np.bincount(np.clip(np.searchsorted(edges, v, side="right") - 1, 0, len(edges) - 1),
                                         minlength=len(edges)).tolist()}
                  for (c, z), v in sorted(stays.items())],
        "queue": [{"camera": c, "zone": z, "hours": [_queue_hour(h, v) for h, v in enumerate(rows)]}
                  for (c, z), rows in sorted(queue.items())],
        "heatmaps": [{"camera": c, "frame": h["frame"], "unit": "person_seconds",
                      "grid": np.round(h["grid"], 1).tolist(), "max": round(float(h["grid"].max()), 1)}
                     for c, h in sorted(heat.items())],
    }


def _queue_hour(hour: int, samples: list[tuple[float, float | None]]) -> dict[str, Any]:
    waits = [w for _, w in samples if w is not None]
    return {"hour": hour, "samples": len(samples),
            "mean_length": round(statistics.fmean(n for n, _ in samples), 2) if samples else None,
            "max_length": max((n for n, _ in samples), default=None),
            "mean_wait_s": round(statistics.fmean(waits), 1) if waits else None}


CSV_PARTS: dict[str, Callable[[dict[str, Any]], tuple[list[str], list[list[Any]]]]] = {
    "footfall": lambda r: (["date", "hour", "camera", "line", "in", "out"],
                           [[r["date"], h["hour"], f["camera"], f["line"], h["in"], h["out"]]
                            for f in r["footfall"] for h in f["hours"]]),
    "dwell": lambda r: (["date", "camera", "zone", "bin", "stays"],
                        [[r["date"], d["camera"], d["zone"], b, n] for d in r["dwell"] for b, n in zip(d["bins"], d["counts"])]),
    "queue": lambda r: (["date", "hour", "camera", "zone", "samples", "mean_length", "max_length", "mean_wait_s"],
                        [[r["date"], h["hour"], q["camera"], q["zone"], h["samples"], h["mean_length"], h["max_length"],
                          h["mean_wait_s"]] for q in r["queue"] for h in q["hours"]]),
}


def report_csv(report: dict[str, Any], part: str) -> str:
    """One part of the report as CSV (a header row, then one row per hour or bin)."""
    try:
        header, rows = CSV_PARTS[part](report)
    except KeyError:
        raise InputError(f"unknown report part {part!r}; choose from {', '.join(CSV_PARTS)}") from None
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(["" if v is None else v for v in row] for row in rows)
    return buf.getvalue()
