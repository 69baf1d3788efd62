"""`clearsight photos ...` as a user runs it: an import killed mid-way resumes without
duplicates, bad files are reported and skipped, `people --json` has the documented shape."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from tests.conftest import REPO, data_path

pytestmark = pytest.mark.integration

EXTRA = ("Vladimir_Putin", "Winona_Ryder")


def run(env, *args, check=True):  # noqa: ANN001, ANN002, ANN201
    out = subprocess.run([sys.executable, "-m", "clearsight.cli", "photos", *args], env=env, cwd=REPO,
                         capture_output=True, text=True, timeout=300)
    if check:
        assert out.returncode == 0, out.stderr[-2000:]
    return out


def test_import_killed_midway_resumes_without_duplicates(photo_folder, tmp_path):
    from clearsight.config import Settings

    root, _ = photo_folder
    for name in EXTRA:  # enough photos that the kill lands mid-way
        for n in range(1, 6):
            dst = root / "more" / f"{name}_{n}.jpg"
            dst.parent.mkdir(exist_ok=True)
            shutil.copyfile(data_path("faces", "lfw_gray", "images", name, f"{name}_{n:04d}.jpg"), dst)
    unique = 11 + 5 * len(EXTRA)
    data = tmp_path / "data"
    env = {**os.environ, "CLEARSIGHT_DATA_DIR": str(data), "CLEARSIGHT_SECRETS_DIR": str(tmp_path / "keys"),
           "CLEARSIGHT_MODELS_DIR": str(Settings().model_dir),
           "CLEARSIGHT_PHOTOS__COMMIT_EVERY": "4"}  # transactions of 4 photos: the kill lands between two of them
    proc = subprocess.Popen([sys.executable, "-m", "clearsight.cli", "photos", "import", str(root), "--no-progress"],
                            env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    db = data / "gallery.db"
    done_before_kill = 0
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if db.exists():
                try:
                    with sqlite3.connect(db, timeout=5) as c:
                        done_before_kill = c.execute("select count(*) from photos").fetchone()[0]
                except sqlite3.OperationalError:  # table not created yet
                    done_before_kill = 0
                if done_before_kill >= 3:
                    proc.send_signal(signal.SIGKILL)
                    break
            time.sleep(0.02)
    finally:
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, "the import ended before it could be interrupted"
    assert 3 <= done_before_kill < unique

    out = run(env, "import", str(root), "--json", "--no-progress")
    report = json.loads(out.stdout)
    assert report["imported"] + report["duplicates"] == report["found"] - 1  # the broken file
    assert report["imported"] <= unique - 3
    assert "broken.jpg" in out.stderr and "empty folder" in out.stderr

    people = json.loads(run(env, "people", "--json").stdout)
    assert all(set(p) == {"person_id", "name", "photos"} and p["name"] is None for p in people)
    with sqlite3.connect(db) as c:
        photos = c.execute("select count(*), count(distinct sha256), count(distinct path) from photos").fetchone()
        faces = c.execute("select count(*) from photo_faces").fetchone()[0]
        per_photo = c.execute("select max(n) from (select count(*) n from photo_faces group by photo_id, "
                              "round(x1), round(y1))").fetchone()[0]
    assert photos == (unique, unique, unique)
    assert per_photo == 1  # no face stored twice
    listed = {x for p in people for x in p["photos"]}
    assert len(listed) <= unique and faces >= unique - 1

    from clearsight.apps.photos import PhotoLibrary

    settings = Settings(data_dir=data, secrets_dir=tmp_path / "keys", models_dir=Settings().model_dir)
    with PhotoLibrary.open(settings) as lib:  # the index agrees with the table after the crash
        assert sorted(lib.index().ids().tolist()) == sorted(f.id for p in lib.people() for f in lib.person_faces(p.id))


def test_bad_input_is_reported(tmp_path):
    from clearsight.config import Settings

    env = {**os.environ, "CLEARSIGHT_DATA_DIR": str(tmp_path / "data"), "CLEARSIGHT_SECRETS_DIR": str(tmp_path / "k"),
           "CLEARSIGHT_MODELS_DIR": str(Settings().model_dir)}
    missing = run(env, "import", str(tmp_path / "nope"), check=False)
    assert missing.returncode == 2 and "no such folder" in missing.stderr
    (tmp_path / "empty").mkdir()
    empty = run(env, "import", str(tmp_path / "empty"), "--no-progress")
    assert "empty folder" in empty.stderr and "0 photos imported" in empty.stdout
    unnamed = run(env, "search", "Somebody", check=False)
    assert unnamed.returncode == 4 and "Somebody" in unnamed.stderr
