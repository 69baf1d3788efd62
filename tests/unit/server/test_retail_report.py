"""The daily retail report: computed from stored events, over REST (JSON, CSV, PNG), with auth;
retail cameras are refused when they would identify or expose anyone; heatmap files."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime, timezone

import cv2
import numpy as np
import pytest

from clearsight.apps.compose import check_plugins
from clearsight.apps.retail import FaceFreeError
from clearsight.apps.retail.heatmap import Heatmap, write_heatmaps
from clearsight.apps.retail.report import daily_report, report_csv
from clearsight.rules.events import make_event
from clearsight.stream.config import CameraConfig
from clearsight.types import BBox

DAY = date(2026, 3, 14)
T0 = datetime(2026, 3, 14, tzinfo=timezone.utc).timestamp()


def day_events() -> list:
    """One store's day as the retail analyser would have emitted it."""
    ev = []
    for hour, ins, outs in ((9, 5, 1), (10, 3, 4), (17, 0, 2)):
        for i in range(ins):
            ev.append(make_event("retail.footfall", "shop", T0 + hour * 3600 + i, (i,), None, line="door", direction="in"))
        for i in range(outs):
            ev.append(make_event("retail.footfall", "shop", T0 + hour * 3600 + 60 + i, (i,), None, line="door", direction="out"))
    for d in (4.0, 12.0, 45.0, 45.5, 700.0):
        ev.append(make_event("retail.dwell", "shop", T0 + 11 * 3600, (1,), None, zone="shelf", duration_s=d))
    for k, (n, w) in enumerate(((2, 30.0), (4, 50.0), (0, None))):
        ev.append(make_event("retail.queue", "shop", T0 + 12 * 3600 + k * 10, (), None, zone="till", length=n, wait_s=w))
    grid = np.zeros((3, 4))
    grid[2, 1] = 7.5
    ev.append(make_event("retail.heatmap", "shop", T0 + 13 * 3600, (), None,
                         occupancy={"grid": grid.tolist(), "frame": [640, 480], "kind": "occupancy"}))
    ev.append(make_event("retail.heatmap", "shop", T0 + 14 * 3600, (), None,
                         occupancy={"grid": grid.tolist(), "frame": [640, 480], "kind": "occupancy"}))
    ev.append(make_event("retail.footfall", "shop", T0 + 86400 + 5, (), None, line="door", direction="in"))  # next day
    return ev


def as_rows(events):
    return [{"type": e.type, "camera": e.camera, "time": e.time, "data": e.data} for e in events]


def test_daily_report_and_csv():
    rep = daily_report(as_rows(day_events()), DAY)
    (foot,) = rep["footfall"]
    assert (foot["in"], foot["out"]) == (8, 7)  # the next day's crossing is not in
    assert foot["hours"][9] == {"hour": 9, "in": 5, "out": 1} and foot["hours"][17]["out"] == 2
    (dw,) = rep["dwell"]
    assert dw["stays"] == 5 and dw["counts"] == [1, 1, 2, 0, 0, 0, 1] and dw["median_s"] == 45.0
    (q,) = rep["queue"]
    assert q["hours"][12] == {"hour": 12, "samples": 3, "mean_length": 2.0, "max_length": 4.0, "mean_wait_s": 40.0}
    (hm,) = rep["heatmaps"]
    assert hm["grid"][2][1] == 15.0 and hm["max"] == 15.0
    rows = list(csv.reader(io.StringIO(report_csv(rep, "footfall"))))
    assert rows[0] == ["date", "hour", "camera", "line", "in", "out"] and len(rows) == 25
    assert rows[10] == ["2026-03-14", "9", "shop", "door", "5", "1"]
    rows = list(csv.reader(io.StringIO(report_csv(rep, "dwell"))))
    assert [r[3] for r in rows[1:]] == dw["bins"] and rows[-1][4] == "1"
    # a UTC+10 day starts 10 hours earlier: the 09:00 UTC crossings are at 19:00 local
    local = daily_report(as_rows(day_events()), DAY, tz_offset_min=600)
    assert local["footfall"][0]["hours"][19]["in"] == 5


def test_report_routes(make_client, assert_problem):
    from clearsight.config import get_settings
    from clearsight.rules.sinks import EventStore

    client, key = make_client()
    store = EventStore(get_settings().events_database_url())
    for e in day_events():
        store.emit(e)
    store.close()
    assert_problem(client.get("/v1/retail/report", params={"date": "2026-03-14"}), 401)
    auditor = key("auditor")
    r = client.get("/v1/retail/report", params={"date": "2026-03-14"}, headers=auditor)
    assert r.status_code == 200, r.text
    assert r.json()["footfall"][0]["in"] == 8 and r.json()["cameras"] == ["shop"]
    r = client.get("/v1/retail/report.csv", params={"date": "2026-03-14", "part": "queue"}, headers=auditor)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    assert list(csv.reader(io.StringIO(r.text)))[13][4:] == ["3", "2.0", "4.0", "40.0"]
    r = client.get("/v1/retail/heatmap.png", params={"date": "2026-03-14", "camera": "shop"}, headers=auditor)
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    png = cv2.imdecode(np.frombuffer(r.content, np.uint8), cv2.IMREAD_COLOR)
    assert png.shape == (480, 640, 3) and png[:160].max() == 0 and png[400, 200].max() > 0  # only the hot cell
    assert_problem(client.get("/v1/retail/report", params={"date": "14/03/2026"}, headers=auditor), 422)
    assert_problem(client.get("/v1/retail/report.csv", params={"date": "2026-03-14", "part": "x"}, headers=auditor), 422)
    assert_problem(client.get("/v1/retail/heatmap.png", params={"date": "2026-03-15", "camera": "shop"}, headers=auditor), 404, "heatmap_not_found")


RETAIL_OK = {
    "name": "shop", "source": "shop.mp4", "detect": {"detector": "opencv-hog-people"}, "redact": {"mode": "blur"},
    "output": {"face_seen": "off"}, "lines": [{"name": "door", "points": [[0.5, 0], [0.5, 1]], "normalized": True}],
    "analysers": {"retail": {"footfall": {}}},
}


@pytest.mark.parametrize(("change", "words"), [
    ({"watchlist": {"group": "banned"}}, "watchlist"),
    ({"recognize": {}}, "recognize"),
    ({"detect": {"detector": "mediapipe"}}, "person detector"),
    ({"detect": {"detector": "centernet"}}, "finding objects"),
    ({"output": {"face_seen": "per_track"}}, "face_seen"),
    ({"redact": None}, "redact"),
    ({"redact": {"mode": "blur", "keep_consented": True}}, "keep_consented"),
])
def test_retail_cameras_are_face_free(change, words):
    check_plugins(CameraConfig.model_validate(RETAIL_OK))
    people = {"detector": "centernet", "options": {"classes": ["person"]}}
    check_plugins(CameraConfig.model_validate({**RETAIL_OK, "detect": people}))
    with pytest.raises(FaceFreeError, match=words) as err:
        check_plugins(CameraConfig.model_validate({**RETAIL_OK, **change}))
    assert "face-free" in str(err.value)


def test_retail_names_unknown_lines_and_zones():
    from clearsight.apps.retail import RetailAnalyser, RetailConfig
    from clearsight.stream.config import CameraConfigError

    cfg = CameraConfig.model_validate(RETAIL_OK)
    with pytest.raises(CameraConfigError, match="zone 'till'.*its zones: none"):
        RetailAnalyser(cfg, RetailConfig.model_validate({"queue": {"zone": "till"}}), snapshots=False)


def test_heatmap_grid_png_json(tmp_path):
    hm = Heatmap(640, 480, cols=16, rows=12)
    for k in range(11):  # one person standing 10 s at the bottom left, one walking across the top
        hm.add(1, BBox(30, 300, 70, 470), k)
        hm.add(2, BBox(k * 60, 10, k * 60 + 40, 100), k)
    sec, vis = hm.seconds, hm.visits
    assert sec[11, 1] == pytest.approx(10.0) and vis[11, 1] == 1
    assert sec[2].sum() == pytest.approx(10.0) and vis[2].sum() == 11  # ten steps, a new cell each second
    paths = write_heatmaps(tmp_path, "shop", sec, vis, 640, 480)
    occ = json.loads(paths["occupancy_json"].read_text())
    assert (occ["rows"], occ["cols"], occ["frame"]) == (12, 16, [640, 480]) and len(occ["grid"]) == 12
    dwell = json.loads(paths["dwell_json"].read_text())
    assert dwell["grid"][11][1] == 10.0 and dwell["unit"] == "seconds_per_visit"
    png = cv2.imread(str(paths["dwell_png"]))
    assert png.shape == (480, 640, 3) and png[470, 50].max() > 0 and png[5, 600].max() == 0


def test_footfall_counts_a_walk_once_and_closes_periods():
    from clearsight.apps.retail.footfall import FootfallCounter
    from clearsight.stream.zones import Line

    door = Line("door", np.array([320.0, 0.0]), np.array([320.0, 480.0]))
    ff = FootfallCounter([(door, "right_to_left")], hysteresis_px=6, period_s=60)
    assert ff.roll(0.0) == []
    feet = lambda x: BBox(x - 20, 300, x + 20, 400)  # noqa: E731 - feet at (x, 400)
    crossings = []
    for k, x in enumerate([250, 300, 318, 323, 317, 322, 340, 400]):  # one walk right, dithering on the line
        crossings += ff.update(1, feet(x), 10.0 + k)
    closed = []
    for k, x in enumerate([500, 330, 200]):  # another person walks left, in the next minute
        closed += ff.roll(61.0 + k)  # the analyser closes periods before counting a frame
        crossings += ff.update(2, feet(x), 61.0 + k)
    # the line points down: walking towards +x crosses it right to left, which this door calls "in"
    assert [(c.track_id, c.direction) for c in crossings] == [(1, "in"), (2, "out")]
    assert closed == [(0.0, {"door": {"in": 1, "out": 0}})]
    assert ff.totals == {"door": {"in": 1, "out": 1}}
