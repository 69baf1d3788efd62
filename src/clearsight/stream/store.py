"""TEMPORARY (dropped at merge): saved camera configs in `<data_dir>/cameras/*.json`,
behind the `CameraStore` interface the SQL repository provides."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger("clearsight.stream.store")


@dataclass(frozen=True)
class SavedCamera:
    name: str
    config: dict[str, Any]
    running: bool


class CameraStore:
    def __init__(self, directory: Path) -> None:
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)

    def _file(self, name: str) -> Path:
        return self.dir / f"{name}.json"

    def list(self) -> list[SavedCamera]:
        out = []
        for f in sorted(self.dir.glob("*.json")):
            if f.name == "rules.json":
                continue
            try:
                saved = json.loads(f.read_text())
                out.append(SavedCamera(saved["config"]["name"], saved["config"], bool(saved.get("running"))))
            except Exception as exc:  # noqa: BLE001 - one bad file must not hide the others
                log.error("camera file %s ignored: %s", f, exc)
        return out

    def save(self, name: str, config: dict[str, Any], running: bool) -> None:
        path = self._file(name)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"config": config, "running": running}, indent=2))
        os.replace(tmp, path)

    def delete(self, name: str) -> bool:
        path = self._file(name)
        existed = path.exists()
        path.unlink(missing_ok=True)
        return existed
