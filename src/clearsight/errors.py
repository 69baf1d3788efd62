"""Typed errors: every failure a user can cause has a class, a stable code and a message
that says what to do. The CLI maps them to exit codes, the service to problem+json.
"""

from __future__ import annotations


class ClearsightError(Exception):
    """Base of every error the library raises on purpose."""

    code = "clearsight_error"
    exit_code = 1
    http_status = 500


class InputError(ClearsightError):
    """The caller gave us something we cannot use."""

    code = "invalid_input"
    exit_code = 2
    http_status = 422


class ImageDecodeError(InputError):
    code = "image_decode_error"


class UnsupportedFormatError(ImageDecodeError):
    code = "unsupported_image_format"


class ImageTooLargeError(InputError):
    code = "image_too_large"
    http_status = 413


class NoFaceError(InputError):
    """A face was required (verify, embed, enrol) and none was found."""

    code = "no_face"


class ModelError(ClearsightError):
    """A model's weights are missing, corrupt or cannot be loaded."""

    code = "model_error"
    exit_code = 3
    http_status = 503


class ModelNotFoundError(ModelError):
    code = "model_not_found"


class ChecksumMismatchError(ModelError):
    code = "model_checksum_mismatch"


class IncompatibleTemplatesError(InputError):
    """Two templates from different embedders cannot be compared."""

    code = "incompatible_templates"


class UnknownBackendError(InputError):
    code = "unknown_backend"
