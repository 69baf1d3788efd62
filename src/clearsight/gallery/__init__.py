"""The identity gallery: identities, consent, templates, groups, audit, 1:N search.

    from clearsight.gallery import Gallery, Purpose
    g = Gallery.open()

Names load lazily so `clearsight --help` does not pay for SQLAlchemy and FAISS.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "Gallery": "gallery",
    "Purpose": "consent", "PURPOSES": "consent",
    "GallerySettings": "clearsight.settings",  # its home is the settings layer; kept here for existing users
    **{n: "records" for n in ("Identity", "Consent", "Group", "EnrolResult", "AuditEntry", "AuditVerification",
                              "IdentityVerification", "PurgeReport", "RotationReport", "EnrolOutcome",
                              "NewIdentityEnrolment")},
    **{n: "errors" for n in ("GalleryError", "NotFoundError", "ConsentRequiredError", "ConflictError",
                             "QualityRejectedError", "TemplateKeyError", "GalleryIndexError")},
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    return getattr(importlib.import_module(module if module.startswith("clearsight.") else f".{module}", __name__), name)


if TYPE_CHECKING:  # pragma: no cover
    from .consent import PURPOSES, Purpose
    from .errors import (ConflictError, ConsentRequiredError, GalleryError, GalleryIndexError, NotFoundError,
                         QualityRejectedError, TemplateKeyError)
    from .gallery import Gallery
    from ..settings import GallerySettings
    from .records import (AuditEntry, AuditVerification, Consent, EnrolResult, Group, Identity,
                          IdentityVerification, PurgeReport, RotationReport, EnrolOutcome, NewIdentityEnrolment)
