"""Image requests in either shape clients send: multipart upload or JSON with base64.

One endpoint accepts both, so a browser form and a mobile app call the same URL.
Parameters are validated by one pydantic model either way; images are decoded by
`clearsight.io.load_image`, whose typed errors become 4xx problems.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any, TypeVar

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.datastructures import UploadFile

from ..errors import InputError
from .errors import ApiError

M = TypeVar("M", bound=BaseModel)


MAX_JSON_DEPTH = 64  # camera configs and rules nest about 6 deep; nothing legitimate comes close


class MissingImageError(InputError):
    code = "image_required"


class JsonTooDeepError(InputError):
    code = "json_too_deep"
    http_status = 400


def json_content_type(request: Request) -> bool:
    ctype = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    return ctype == "application/json" or ctype.endswith("+json")


def _depth_exceeds(value: Any, limit: int) -> bool:
    """Whether containers nest deeper than `limit` (iterative: no recursion to exhaust)."""
    stack = [(value, 1)]
    while stack:
        v, d = stack.pop()
        if isinstance(v, dict):
            v = v.values()
        elif not isinstance(v, list):
            continue
        if d > limit:
            return True
        stack.extend((child, d + 1) for child in v if isinstance(child, (dict, list)))
    return False


def loads_bounded(data: bytes | str, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """`json.loads` that refuses documents nested deeper than `max_depth`
    (`JsonTooDeepError`, a 400 problem) instead of overflowing the stack anywhere
    later; invalid JSON raises `ValueError` as `json.loads` does."""
    try:
        value = json.loads(data)
    except RecursionError:
        value = None
        too_deep = True
    else:
        too_deep = _depth_exceeds(value, max_depth)
    if too_deep:
        raise JsonTooDeepError(f"the JSON body nests deeper than {max_depth} levels")
    return value


def _b64(name: str, value: Any) -> bytes:
    if not isinstance(value, str) or not value:
        raise InputError(f"{name}: expected a base64-encoded image string")
    if value.startswith("data:"):  # a data URL from a browser canvas or FileReader
        _, _, value = value.partition(",")
    try:
        return base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise InputError(f"{name}: not valid base64") from None


async def parse_image_request(
    request: Request, model: type[M], image_fields: tuple[str, ...], required: tuple[str, ...] = ()
) -> tuple[M, dict[str, bytes]]:
    """(validated parameters, {field: image bytes}) from a JSON or multipart body."""
    ctype = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    images: dict[str, bytes] = {}
    params: dict[str, Any] = {}
    if json_content_type(request):
        try:
            body = loads_bounded(await request.body() or b"null")
        except (ValueError, UnicodeDecodeError):
            raise InputError("the request body is not valid JSON") from None
        if not isinstance(body, dict):
            raise InputError("the JSON body must be an object")
        for k, v in body.items():
            if k in image_fields:
                if v is not None:
                    images[k] = _b64(k, v)
            else:
                params[k] = v
    elif ctype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        try:
            form = await request.form(max_files=len(image_fields) or 1, max_fields=50)
        except ApiError:
            raise
        except Exception:  # malformed multipart: starlette raises its own error types
            raise InputError("the request body is not a valid form upload") from None
        for k, v in form.multi_items():
            if k in image_fields:
                if isinstance(v, UploadFile):
                    data = await v.read()
                    if data:
                        images[k] = data
                elif isinstance(v, str) and v:
                    images[k] = _b64(k, v)
            elif not isinstance(v, UploadFile) and v != "":
                params[k] = v
    else:
        raise ApiError(
            415,
            "unsupported_media_type",
            "send multipart/form-data (file uploads) or application/json (base64 images)",
        )
    try:
        parsed = model.model_validate(params)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e.get("loc", ()))} for e in exc.errors(include_input=False, include_url=False)]
        ) from None
    for name in required:
        if name not in images:
            raise MissingImageError(f"{name}: an image is required")
    return parsed, images


def image_body_openapi(model: type[BaseModel], image_fields: tuple[str, ...], required: tuple[str, ...]) -> dict:
    """`openapi_extra` documenting both body shapes for one endpoint."""
    schema = model.model_json_schema()
    props = dict(schema.get("properties", {}))
    req = list(schema.get("required", [])) + list(required)

    def with_images(fmt: dict) -> dict:
        p = dict(props)
        for f in image_fields:
            p[f] = {"type": "string", **fmt, "description": "the image (JPEG, PNG, WebP, BMP, TIFF)"}
        return {"type": "object", "properties": p, "required": req, "additionalProperties": False}

    return {
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {"schema": with_images({"format": "binary"})},
                "application/json": {"schema": with_images({"contentEncoding": "base64"})},
            },
        }
    }
