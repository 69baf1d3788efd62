"""The photo library (issue 18): import folders, group faces by person, name, search.

    from clearsight.apps.photos import PhotoLibrary
    lib = PhotoLibrary.open()
    lib.import_dir("~/Pictures", actor="me")
"""

from __future__ import annotations

from .library import PhotoLibrary
from .records import ImportProblem, ImportReport, LibraryFace, Person, Photo

__all__ = ["ImportProblem", "ImportReport", "LibraryFace", "Person", "Photo", "PhotoLibrary"]
