"""The photo library on real faces (LFW-gray): import with EXIF, duplicates and bad files,
people grouped by person, naming with a basis, search (alone, together, by date), merge,
split and move surviving a restart, erasure, templates sealed at rest, and separation from
the gallery (no gallery purpose reaches a library face)."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pytest
from sqlalchemy import select

from clearsight.apps.photos import PhotoLibrary
from clearsight.config import Settings
from clearsight.db.tables.photos import PhotoFaceRow
from clearsight.gallery.errors import ConflictError, ConsentRequiredError, NotFoundError

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def pipeline():
    from clearsight.face.pipeline import FacePipeline

    return FacePipeline()


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(data_dir=tmp_path / "data", secrets_dir=tmp_path / "keys", models_dir=Settings().model_dir)


def person_of(lib: PhotoLibrary, path) -> set[str]:  # noqa: ANN001
    return {p["person_id"] for p in lib.people_with_photos() if str(path) in p["photos"]}


def test_import_groups_names_searches_and_corrections_survive_restart(photo_folder, settings, pipeline):
    root, shows = photo_folder
    with PhotoLibrary.open(settings, pipeline=pipeline) as lib:
        seen = []
        report = lib.import_dir(root, actor="test", progress=lambda d, t, p: seen.append((d, t)))
        assert seen[-1] == (report.found, report.found) and report.found == 13
        assert report.imported == 11 and report.duplicates == 1
        problems = {p.path: p.message for p in report.problems}
        assert any(k.endswith("broken.jpg") for k in problems)
        assert any(k.endswith("empty") and "empty folder" in v for k, v in problems.items())
        # a second run finds everything already there
        again = lib.import_dir(root, actor="test")
        assert (again.imported, again.duplicates) == (0, 12)

        people = lib.people_with_photos()
        assert all(p["name"] is None for p in people)
        everything = sorted({x for p in people for x in p["photos"]})
        assert all(x.startswith("/") for x in everything)
        for p in people:
            assert p["photos"] == sorted(p["photos"])
        # one person per real person: every photo of someone shares a library person, and no person mixes two
        truth = {name: set.intersection(*(person_of(lib, f.resolve()) for f in files))
                 for name, files in shows.items()}
        assert all(len(ids) == 1 for ids in truth.values()), truth
        pid = {name: ids.pop() for name, ids in truth.items()}
        assert len(set(pid.values())) == 3

        # the EXIF-rotated phone photo: orientation and date read, face found upright
        dated = next(p for p in lib.person_photos(pid["Serena_Williams"]) if p.path.endswith("IMG_0001.JPG"))
        assert dated.taken_at == datetime(2019, 7, 14, 18, 3, 11, tzinfo=timezone.utc)
        assert (dated.width, dated.height) == (250, 250) and dated.faces

        # search needs a named person with a basis
        with pytest.raises(ConsentRequiredError):
            lib.search([pid["Colin_Powell"]], actor="test")
        with pytest.raises(ConsentRequiredError):
            lib.name_person(pid["Colin_Powell"], "Colin", legal_basis=" ", actor="test")
        lib.name_person(pid["Colin_Powell"], "Colin", legal_basis="consent", actor="test")
        lib.name_person(pid["Tony_Blair"], "Tony", legal_basis="consent", actor="test")
        with pytest.raises(ConflictError):
            lib.name_person(pid["Serena_Williams"], "Tony", legal_basis="consent", actor="test")
        colin = {p.path for p in lib.search(["Colin"], actor="test")}
        assert colin == {str(f.resolve()) for f in shows["Colin_Powell"]}
        together = [p.path for p in lib.search(["Colin", "Tony"], actor="test")]
        assert together == [str((root / "events" / "summit.jpg").resolve())]
        with pytest.raises(NotFoundError):
            lib.search(["Nobody"], actor="test")

        # corrections: split one photo of Serena off, move it back, merge Serena's two halves
        faces = lib.person_faces(pid["Serena_Williams"])
        stray = lib.split_person(pid["Serena_Williams"], [faces[0].id], actor="test")
        assert stray.name is None and stray.faces == 1
        lib.move_face(faces[1].id, stray.id, actor="test")
        split_state = {p["person_id"]: p["photos"] for p in lib.people_with_photos()}
    with PhotoLibrary.open(settings, pipeline=pipeline) as lib:  # a restart
        assert {p["person_id"]: p["photos"] for p in lib.people_with_photos()} == split_state
        merged = lib.merge_people(pid["Serena_Williams"], stray.id, actor="test")
        assert merged.photos == len(shows["Serena_Williams"])
    with PhotoLibrary.open(settings, pipeline=pipeline) as lib:
        by_id = {p["person_id"]: p for p in lib.people_with_photos()}
        assert stray.id not in by_id
        assert by_id[pid["Serena_Williams"]]["photos"] == sorted(str(f.resolve()) for f in shows["Serena_Williams"])
        assert by_id[pid["Colin_Powell"]]["name"] == "Colin"
        # by date: only photos taken in the window (undated ones drop out of a dated search)
        lib.name_person(pid["Serena_Williams"], "Serena", legal_basis="household use", actor="test")
        hits = lib.search(["Serena"], actor="test", since=datetime(2019, 1, 1), until=datetime(2020, 1, 1))
        assert [p.path for p in hits] == [str((root / "phone" / "IMG_0001.JPG").resolve())]
        assert lib.search(["Serena"], actor="test", since=datetime(2020, 1, 1)) == []
        # audited
        with lib._sessions() as s:  # noqa: SLF001 - reading the audit log the library wrote
            from clearsight.db.tables.gallery import AuditRow

            actions = [a for a in s.scalars(select(AuditRow.action)) if a.startswith("photos.")]
        for a in ("photos.import", "photos.name", "photos.search", "photos.split", "photos.move", "photos.merge"):
            assert a in actions


def test_erasure_sealing_and_separation_from_the_gallery(photo_folder, settings, pipeline):
    from clearsight.gallery import Gallery
    from clearsight.gallery.index.sealed import MAGIC

    root, shows = photo_folder
    with PhotoLibrary.open(settings, pipeline=pipeline) as lib:
        lib.import_dir(root, actor="test")
        colin = set.intersection(*(person_of(lib, f.resolve()) for f in shows["Colin_Powell"])).pop()
        lib.name_person(colin, "Colin", legal_basis="consent", actor="test")
        faces = lib.person_faces(colin)
        # templates at rest: ciphertexts in the table, a sealed index file
        with lib._sessions() as s:  # noqa: SLF001
            rows = s.scalars(select(PhotoFaceRow)).all()
        raw = pipeline.templates(str(shows["Colin_Powell"][0]))[0].embedding.vector.astype("<f4").tobytes()
        assert all(raw not in r.ciphertext and len(r.ciphertext) == 128 * 4 + 16 for r in rows)
        index_files = list((settings.photo_library_dir() / "index").glob("*.faiss*"))
        assert index_files and all(f.read_bytes().startswith(MAGIC) for f in index_files if f.suffix != ".json")

        # no gallery purpose reaches a library face, named or not: the gallery searches its own collection
        with Gallery.open(settings, pipeline=pipeline) as g:
            other = g.create_identity(None, "Tony", actor="test")
            for purpose in ("watchlist", "access", "photos"):
                g.add_consent(other.id, purpose, "consent", "test", actor="test")
            g.enrol(other.id, str(shows["Tony_Blair"][0]), "test")
            for purpose in ("watchlist", "access", "photos"):
                for f in shows["Colin_Powell"][:2] + shows["Serena_Williams"][:1]:
                    res = g.search(str(f), purpose, "test", top_k=5)
                    assert all(m.identity_id == other.id for m in res), purpose
            assert not any(p.is_relative_to(settings.photo_library_dir()) for p in
                           settings.gallery_index_dir().rglob("*") if settings.gallery_index_dir().exists())

        # erasure: faces, templates (rows and index) and face crops go; the photos stay without them
        crops = [lib.face_path(f.id) for f in faces]
        assert all(c.exists() for c in crops)
        out = lib.erase_person(colin, actor="test")
        assert out["faces"] == len(faces)
        assert not any(c.exists() for c in crops)
        with pytest.raises(NotFoundError):
            lib.search(["Colin"], actor="test")
        assert not set(lib.index().ids().tolist()) & {f.id for f in faces}
        assert all(str(f.resolve()) not in p["photos"] for p in lib.people_with_photos()
                   for f in shows["Colin_Powell"][:3])
    with PhotoLibrary.open(settings, pipeline=pipeline) as lib:  # re-import after erasure: the faces stay gone
        again = lib.import_dir(root, actor="test")
        assert again.imported == 0
        ids = lib.index().ids()
        assert not set(ids.tolist()) & {f.id for f in faces} and len(ids) == lib.stats()["faces"]


def test_one_worker_and_several_store_the_same_library(photo_folder, tmp_path, pipeline):
    """The import prepares photos in worker threads but stores them in file order: the
    people, the duplicates and the problems are those of a one-at-a-time import."""
    root, _shows = photo_folder
    seen = {}
    for workers in (1, 2):
        settings = Settings(data_dir=tmp_path / f"data{workers}", secrets_dir=tmp_path / f"keys{workers}",
                            models_dir=Settings().model_dir)
        settings.photos.workers = workers
        with PhotoLibrary.open(settings, pipeline=pipeline) as lib:
            report = lib.import_dir(root, actor="test")
            groups = sorted(tuple(p["photos"]) for p in lib.people_with_photos())
            seen[workers] = (report.imported, report.duplicates, report.faces,
                             sorted(p.path for p in report.problems), groups)
    assert seen[1] == seen[2]
    assert seen[2][:2] == (11, 1)


def test_a_background_import_stopped_by_shutdown_resumes_without_duplicates(photo_folder, settings, pipeline):
    import time

    from clearsight.apps.photos.imports import ImportQueue

    root, shows = photo_folder
    lib = PhotoLibrary.open(settings, pipeline=pipeline)
    queue = ImportQueue(lambda: lib)
    run = queue.submit(root, actor="test")
    later = queue.submit(root, actor="test")
    while run.done < 1:
        time.sleep(0.005)
    queue.close()  # as the service does on shutdown: after the photo in hand
    assert run.state == "stopped" and 1 <= run.done < run.total and later.state == "stopped"
    kept = lib.stats()["photos"]
    assert 1 <= kept < len({p for v in shows.values() for p in v})
    lib.close()
    lib = PhotoLibrary.open(settings, pipeline=pipeline)
    queue = ImportQueue(lambda: lib)
    again = queue.submit(root, actor="test")
    while again.state in ("queued", "running"):
        time.sleep(0.05)
    assert again.state == "done" and again.report["imported"] == len({p for v in shows.values() for p in v}) - kept
    assert lib.stats()["photos"] == len({p for v in shows.values() for p in v})
    queue.close()
    lib.close()
