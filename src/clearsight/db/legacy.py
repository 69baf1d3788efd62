"""One-time upgrade of a data dir written before everything moved into `clearsight.db`.

Earlier versions kept API keys in a raw SQLite file (`<data_dir>/server/keys.sqlite`),
saved cameras in `<data_dir>/cameras/<name>.json` and the alert rules in
`<data_dir>/cameras/rules.json`; the event store created `cs_events` itself without
Alembic. `upgrade_data_dir` migrates both databases (adopting such an events
database), copies the old files' rows into the main database and renames each
imported file to `*.migrated`, so a second run finds nothing to do. Rows already
present (a run interrupted between commit and rename) are skipped, never duplicated.
"""

from __future__ import annotations

import json
import logging
import sqlite3  # the one place raw sqlite3 is allowed: reading the old key file once
from contextlib import closing
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .base import utcnow
from .engine import session_factory
from .migrate import connect
from .tables.cameras import CameraRow, RuleRow
from .tables.keys import ApiKeyRow

if TYPE_CHECKING:
    from ..config import Settings

log = logging.getLogger("clearsight.db.legacy")

MIGRATED_SUFFIX = ".migrated"
_KEY_COLUMNS = ("id", "name", "role", "secret_sha256", "created_at", "revoked_at", "last_used_at", "rate_limit")


def legacy_key_file(data_dir: Path) -> Path:
    return data_dir / "server" / "keys.sqlite"


def legacy_camera_dir(data_dir: Path) -> Path:
    return data_dir / "cameras"


def _retire(path: Path) -> None:
    """Rename an imported file (and a leftover WAL/SHM beside it) to `*.migrated`."""
    for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if p.exists():
            p.replace(p.with_name(p.name + MIGRATED_SUFFIX))


def _old_keys(path: Path) -> list[dict[str, Any]]:
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        rows = db.execute(f"SELECT {', '.join(_KEY_COLUMNS)} FROM api_keys").fetchall()
    return [dict(zip(_KEY_COLUMNS, r)) for r in rows]


def import_keys(session: Session, data_dir: Path) -> int:
    """API keys of the old key file not yet in `api_keys`; returns how many were added."""
    path = legacy_key_file(data_dir)
    if not path.is_file():
        return 0
    known = set(session.scalars(select(ApiKeyRow.id)))
    new = [ApiKeyRow(**k) for k in _old_keys(path) if k["id"] not in known]
    session.add_all(new)
    return len(new)


def _camera_files(data_dir: Path) -> list[Path]:
    folder = legacy_camera_dir(data_dir)
    return sorted(f for f in folder.glob("*.json") if f.name != "rules.json") if folder.is_dir() else []


def import_cameras(session: Session, data_dir: Path) -> tuple[int, list[Path]]:
    """Saved cameras of `cameras/*.json` not yet in `cameras`; returns (added, files to retire).

    A file that does not parse stays where it is (logged), as the old restore skipped it."""
    known = set(session.scalars(select(CameraRow.name)))
    added, done = 0, []
    for f in _camera_files(data_dir):
        try:
            saved = json.loads(f.read_text())
            config, running = dict(saved["config"]), bool(saved.get("running", False))
            name = str(config.get("name") or f.stem)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.error("camera file %s not imported: %s", f, exc)
            continue
        if name not in known:
            session.add(CameraRow(name=name, config=config, running=running, updated_at=_mtime(f)))
            known.add(name)
            added += 1
        done.append(f)
    return added, done


def _mtime(path: Path) -> datetime:
    try:
        return datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)
    except OSError:  # pragma: no cover - vanished between glob and stat
        return utcnow()


def import_rules(session: Session, data_dir: Path) -> tuple[int, list[Path]]:
    """The rules of `cameras/rules.json`, unless the database has rules already."""
    f = legacy_camera_dir(data_dir) / "rules.json"
    if not f.is_file():
        return 0, []
    try:
        rules = json.loads(f.read_text()).get("rules", [])
        if not isinstance(rules, list):
            raise ValueError("`rules` is not a list")
    except (OSError, ValueError, AttributeError) as exc:
        log.error("rules file %s not imported: %s", f, exc)
        return 0, []
    if session.scalar(select(RuleRow.position).limit(1)) is not None:
        return 0, [f]
    session.add_all(RuleRow(position=i, rule=r) for i, r in enumerate(rules))
    return len(rules), [f]


def upgrade_data_dir(settings: Settings) -> dict[str, int]:
    """Migrate both databases and import the old files; returns how many rows each import added."""
    data_dir = Path(settings.data_dir)
    sync = settings.gallery.sqlite_synchronous
    connect(settings.events_database_url(), "events", sqlite_synchronous=sync).dispose()
    main = connect(settings.gallery_database_url(), "main", sqlite_synchronous=sync)
    try:
        with session_factory(main).begin() as s:
            keys = import_keys(s, data_dir)
            cameras, camera_files = import_cameras(s, data_dir)
            rules, rule_files = import_rules(s, data_dir)
        # committed: only now may the old files go
        if legacy_key_file(data_dir).is_file():
            _retire(legacy_key_file(data_dir))
        for f in (*camera_files, *rule_files):
            _retire(f)
    finally:
        main.dispose()
    counts = {"keys": keys, "cameras": cameras, "rules": rules}
    if any(counts.values()):
        log.info("imported from the old data dir layout: %s", counts)
    return counts
