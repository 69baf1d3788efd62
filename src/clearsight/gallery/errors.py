"""Gallery errors: each maps to one HTTP status and one CLI exit code.

ConsentRequiredError is 403: the request is well-formed and the identity exists,
but policy forbids the operation until a valid consent/legal basis is recorded.
"""

from __future__ import annotations

from ..errors import ClearsightError, InputError


class GalleryError(ClearsightError):
    code = "gallery_error"


class NotFoundError(GalleryError):
    code = "not_found"
    exit_code = 4
    http_status = 404


class ConsentRequiredError(GalleryError):
    code = "consent_required"
    exit_code = 5
    http_status = 403


class ConflictError(InputError):
    """E.g. an external id or group name that already exists."""

    code = "conflict"
    http_status = 409


class QualityRejectedError(InputError):
    """The face is not good enough to enrol; `reasons` name each failed check."""

    code = "quality_rejected"

    def __init__(self, reasons: tuple[str, ...] | list[str], quality=None) -> None:
        self.reasons = tuple(reasons)
        self.quality = quality
        super().__init__("enrolment rejected by the quality gate: " + ", ".join(self.reasons))


class TemplateKeyError(GalleryError):
    """The template-protection key is missing, unsafe or does not decrypt a template."""

    code = "template_key_error"
    exit_code = 3
    http_status = 503


class GalleryIndexError(GalleryError):
    code = "index_error"
    http_status = 503
