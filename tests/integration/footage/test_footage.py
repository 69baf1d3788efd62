"""Footage search on a real video (face_recognition's Hamilton clip: Lin-Manuel Miranda and
Alex Lacamoire, whose reference photos ship beside it): index, search, refusals, separation
from the gallery, resume without duplicates, bad files."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from clearsight.apps.footage import FootageLibrary, FootageSearchRefused
from clearsight.config import Settings
from clearsight.db.tables.footage import FootageTrackRow

from ...conftest import data_path

pytestmark = pytest.mark.integration

EXAMPLES = ("faces", "face_recognition_examples", "examples")
BASIS = "court_order 2026/114"


def _settings(root: Path, **footage) -> Settings:
    models = os.environ.get("CLEARSIGHT_MODELS_DIR") or str(Settings().model_dir)
    s = Settings(data_dir=root / "data", secrets_dir=root / "keys", models_dir=Path(models))
    return s.model_copy(update={"footage": s.footage.model_copy(update=footage)}) if footage else s


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    clip = data_path(*EXAMPLES, "short_hamilton_clip.mp4")
    settings = _settings(tmp_path_factory.mktemp("footage"), checkpoint_s=2.0)
    lib = FootageLibrary.open(settings)
    report = lib.index_video(clip, actor="test")
    yield lib, report, settings, clip
    lib.close()


def _rows(lib: FootageLibrary) -> list:
    with lib._sessions() as s:  # noqa: SLF001 - the test inspects what is stored at rest
        return s.execute(select(FootageTrackRow).order_by(FootageTrackRow.start_frame, FootageTrackRow.id)).scalars().all()


def test_index_stores_tracks_with_offsets_protected_at_rest(indexed):
    lib, report, settings, _clip = indexed
    assert report.status == "indexed" and report.frames == 275 and report.error is None
    rows = _rows(lib)
    assert report.tracks == len(rows) >= 3
    fps = 2997 / 100
    for r in rows:
        assert 0 <= r.start_s <= r.best_s <= r.end_s <= 9.2
        assert r.start_frame <= r.best_frame <= r.end_frame < 275 and r.detections >= 2
        # offsets are the container clock from the first frame: frame index / fps for this constant-rate file
        assert abs(r.start_s - r.start_frame / fps) < 0.01 and abs(r.end_s - r.end_frame / fps) < 0.01
        assert len(r.ciphertext) == 128 * 4 + 16  # an AES-GCM float32 template, not a vector in the clear
        assert not r.thumbnail.startswith(b"\xff\xd8")  # the thumbnail is encrypted too
    assert lib.thumbnail(rows[0].id, actor="test").startswith(b"\xff\xd8")
    assert list(settings.footage_index_dir().glob("*.faiss*"))  # its own collection ...
    assert not settings.gallery_index_dir().exists() or not list(settings.gallery_index_dir().iterdir())  # ... not the gallery's


def test_search_finds_the_person_and_not_a_stranger(indexed):
    lib, _report, _s, _clip = indexed
    lin = lib.search(data_path(*EXAMPLES, "lin-manuel-miranda.png"), purpose="investigation", legal_basis=BASIS,
                     actor="test", top_k=5)
    assert lin.mode == "candidates" and lin.n == len(_rows(lib)) and lin.threshold is not None
    top = lin.hits[0]
    assert top.above_threshold and top.end_s - top.start_s > 5  # he sings through most of the clip
    assert [h.similarity for h in lin.hits] == sorted((h.similarity for h in lin.hits), reverse=True)
    stranger = lib.search(data_path(*EXAMPLES, "biden.jpg"), purpose="missing_person", legal_basis="vital_interests",
                          actor="test", top_k=5)
    assert stranger.hits and not any(h.above_threshold for h in stranger.hits)
    assert top.similarity > stranger.hits[0].similarity
    with lib._sessions() as s:  # noqa: SLF001
        audit = lib.audit.entries(s, action="footage_search", newest_first=True, limit=2)
    assert {e.outcome for e in audit} == {"candidates"} and audit[1].details["legal_basis"] == BASIS


@pytest.mark.parametrize("purpose,basis", [(None, BASIS), ("watchlist", BASIS), ("access", BASIS),
                                           ("photos", BASIS), ("investigation", None),
                                           ("missing_person", "consent"), ("nonsense", BASIS)])
def test_search_refused_without_footage_purpose_and_legal_basis(indexed, purpose, basis):
    lib = indexed[0]
    with lib._sessions() as s:  # noqa: SLF001
        before = lib.audit.count(s, action="footage_search")
    with pytest.raises(FootageSearchRefused):
        lib.search(data_path(*EXAMPLES, "lin-manuel-miranda.png"), purpose=purpose, legal_basis=basis, actor="test")
    with lib._sessions() as s:  # noqa: SLF001
        last = lib.audit.entries(s, action="footage_search", newest_first=True, limit=1)[0]
        assert lib.audit.count(s, action="footage_search") == before + 1
    assert last.outcome == "refused"


def test_footage_faces_never_reach_a_gallery_search(indexed):
    from clearsight.gallery import Gallery

    lib, _r, settings, _clip = indexed
    probe = data_path(*EXAMPLES, "lin-manuel-miranda.png")
    with Gallery.open(settings, pipeline=lib.pipeline) as g:
        obama = g.create_identity("obama", "Barack Obama", actor="test")
        for purpose in ("watchlist", "access", "investigation"):
            g.add_consent(obama.id, purpose, "consent" if purpose != "investigation" else BASIS, "test", actor="test")
        g.enrol(obama.id, data_path(*EXAMPLES, "obama.jpg"), "test")
        for purpose in ("watchlist", "access", "investigation", "missing_person"):
            hits = g.search(probe, purpose, "test", top_k=10)
            assert {h.identity_id for h in hits} <= {obama.id}, purpose  # footage tracks are not identities
            assert not any(h.is_match or h.above_threshold for h in hits)
        assert g.stats()["templates"] == 1
    assert lib.search(probe, purpose="investigation", legal_basis=BASIS, actor="test").hits[0].above_threshold


def test_interrupted_index_resumes_without_duplicates(indexed, tmp_path):
    lib0, report0, _s, clip = indexed
    settings = _settings(tmp_path, checkpoint_s=2.0)
    first = FootageLibrary.open(settings)

    def stop_late(_path, progress):
        if progress.frame > 200:
            first.stop()

    r1 = first.index_video(clip, actor="test", on_progress=stop_late)
    stored_early = len(_rows(first))
    first.close()
    assert r1.status == "interrupted" and stored_early >= 1
    second = FootageLibrary.open(settings)
    r2 = second.index_video(clip, actor="test")
    assert r2.status == "resumed" and r2.frames == 275
    tracks = [(r.start_frame, r.end_frame, r.best_frame, r.box) for r in _rows(second)]
    assert len(tracks) == len(set(tracks)) == r2.tracks  # nothing stored twice
    # the same footage covered as by a run never interrupted (the tracker restarts at the resume frame, so
    # where a track is cut may differ by a detection or two; a restart from scratch would double everything)
    whole = [(r.start_frame, r.end_frame) for r in _rows(lib0)]
    assert abs(len(tracks) - len(whole)) <= 2

    def covered(spans):
        return {f for a, b in spans for f in range(a, b + 1)}

    a, b = covered(whole), covered(t[:2] for t in tracks)
    assert len(a & b) / len(a | b) >= 0.8
    hit = second.search(data_path(*EXAMPLES, "lin-manuel-miranda.png"), purpose="investigation", legal_basis=BASIS,
                        actor="test", top_k=1).hits[0]
    assert hit.above_threshold and hit.end_s - hit.start_s > 5
    assert second.index_video(clip, actor="test").status == "already_indexed"
    second.close()


def test_bad_videos_get_a_message_and_the_run_goes_on(indexed, tmp_path):
    lib, report, _s, clip = indexed
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(np.random.default_rng(0).integers(0, 255, 4096, dtype=np.uint8).tobytes())
    image = tmp_path / "photo.mp4"
    image.write_bytes(data_path(*EXAMPLES, "obama.jpg").read_bytes()[:2000])  # a truncated JPEG named .mp4
    reports = lib.index_videos([empty, garbage, tmp_path, clip, image, tmp_path / "missing.mp4"], actor="test")
    assert [r.status for r in reports] == ["failed", "failed", "failed", "already_indexed", "failed", "failed"]
    assert all(r.error and r.path for r in reports if r.status == "failed")
    assert reports[3].tracks == report.tracks


def test_cli_refuses_a_search_without_legal_basis_and_reports_bad_files(tmp_path):
    from clearsight.cli import app

    probe = str(data_path(*EXAMPLES, "lin-manuel-miranda.png"))
    r = CliRunner().invoke(app, ["footage", "search", probe, "--purpose", "investigation"])
    assert r.exit_code == 5 and "legal basis" in r.output
    r = CliRunner().invoke(app, ["footage", "search", probe, "--purpose", "watchlist", "--legal-basis", BASIS])
    assert r.exit_code == 5 and "investigation or missing_person" in r.output
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video")
    r = CliRunner().invoke(app, ["footage", "index", str(bad)])
    assert r.exit_code == 2 and "bad.mp4" in r.output
