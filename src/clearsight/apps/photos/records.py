"""What the photo library hands out: frozen records, never rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class ImportProblem:
    path: str
    message: str


@dataclass(frozen=True)
class ImportReport:
    """`imported`: new photos; `duplicates`: same content as a photo already in the
    library (under this or another name); `problems`: files or folders that were skipped."""

    found: int = 0
    imported: int = 0
    duplicates: int = 0
    faces: int = 0
    new_people: int = 0
    problems: tuple[ImportProblem, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"found": self.found, "imported": self.imported, "duplicates": self.duplicates, "faces": self.faces,
                "new_people": self.new_people, "problems": [p.__dict__ for p in self.problems]}


@dataclass(frozen=True)
class Person:
    id: str
    name: str | None
    faces: int
    photos: int
    cover_face: int | None  # a face id to show for the person

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class LibraryFace:
    id: int
    photo_id: int
    person_id: str
    box: tuple[float, float, float, float]
    score: float


@dataclass(frozen=True)
class Photo:
    id: int
    path: str
    taken_at: datetime | None
    width: int
    height: int
    faces: tuple[LibraryFace, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "path": self.path, "taken_at": self.taken_at.isoformat() if self.taken_at else None,
                "width": self.width, "height": self.height,
                "faces": [{"id": f.id, "person_id": f.person_id, "box": list(f.box), "score": f.score}
                          for f in self.faces]}
