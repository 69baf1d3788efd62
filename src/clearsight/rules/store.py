"""TEMPORARY (dropped at merge): the service-wide rules in `<data_dir>/cameras/rules.json`,
behind the `RuleStore` interface the SQL repository provides."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

log = logging.getLogger("clearsight.rules.store")


class RuleStore:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def load(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        try:
            return list(json.loads(self.path.read_text()).get("rules", []))
        except Exception as exc:  # noqa: BLE001
            log.error("rules file %s ignored: %s", self.path, exc)
            return []

    def save(self, rules: list[dict[str, Any]]) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"rules": rules}, indent=2))
        os.replace(tmp, self.path)
