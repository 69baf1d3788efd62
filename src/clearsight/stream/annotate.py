"""The annotator: draws what the pipeline computed onto output frames for people to watch.

The pipeline and the analysers compute (tracks, zone occupancy, labels,
overlays); only this module draws, so an analyser added by an app shows up in
the live view and the annotated video by returning labels and overlays, never
by touching pixels, and a headless camera pays nothing for drawing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from ..vision.drawing import Colour, draw_box, draw_polygon, draw_text, line_thickness
from .analysers import AnalyserOutput, BoxOverlay, Overlay, PolygonOverlay, TextOverlay
from .tracking import Tracked
from .zones import GeometryMonitor

TRACK_COLOURS: tuple[Colour, ...] = ((46, 204, 113), (52, 152, 219), (155, 89, 182), (241, 196, 15), (230, 126, 34),
                                     (26, 188, 156))
ZONE_COLOUR: Colour = (255, 200, 0)
LINE_COLOUR: Colour = (255, 80, 80)


def track_label(track_id: int, labels: Iterable[str]) -> str:
    return " ".join([f"#{track_id}", *labels])


class Annotator:
    """Draws zones, lines, tracks with the analysers' labels, and the analysers' overlays."""

    def draw(self, rgb: np.ndarray, tracks: Sequence[Tracked], monitor: GeometryMonitor | None,
             outputs: Iterable[AnalyserOutput] = ()) -> np.ndarray:
        out = np.ascontiguousarray(rgb.copy())
        thick = line_thickness(out)
        outputs = list(outputs)
        if monitor is not None:
            occ = monitor.occupancy()
            for z in monitor.zones:
                draw_polygon(out, z.polygon, ZONE_COLOUR, thick, f"{z.name} ({occ.get(z.name, 0)})")
            for ln in monitor.lines:
                draw_polygon(out, [ln.a, ln.b], LINE_COLOUR, thick + 1, closed=False)
        labels = _labels_by_track(o.labels for o in outputs)
        for tr in tracks:
            cls = [] if tr.label == "face" else [tr.label]  # the voted class of people and vehicles
            draw_box(out, tr.box, TRACK_COLOURS[tr.track_id % len(TRACK_COLOURS)], thick,
                     track_label(tr.track_id, [*cls, *labels.get(tr.track_id, ())]))
        for o in outputs:
            for overlay in o.overlays:
                _draw_overlay(out, overlay, thick)
        return out


def _labels_by_track(label_maps: Iterable[Mapping[int, str]]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for m in label_maps:
        for tid, text in m.items():
            out.setdefault(tid, []).append(text)
    return out


def _draw_overlay(out: np.ndarray, overlay: Overlay, thick: int) -> None:
    if isinstance(overlay, BoxOverlay):
        draw_box(out, overlay.box, overlay.colour, thick, overlay.text)
    elif isinstance(overlay, PolygonOverlay):
        draw_polygon(out, overlay.points, overlay.colour, thick, overlay.text, closed=overlay.closed)
    elif isinstance(overlay, TextOverlay):
        draw_text(out, overlay.position, overlay.text, overlay.colour)


__all__ = ["Annotator", "TRACK_COLOURS", "track_label"]
