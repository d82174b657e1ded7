"""Uploaded photos (search by a photo): allowed only with the form secret or the token, kept in a
private temporary file while they are searched, refused when too large or not an image."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Request, UploadFile

from shashin.web.security import CSRF_HEADER, WebSettings, upload_allowed
from shashin.web.state import ApiError, AppState


@asynccontextmanager
async def saved_upload(request: Request, state: AppState, upload: UploadFile, csrf: str) -> AsyncIterator[Path]:
    """The upload in a temporary file for the duration of the block, once it is allowed and read."""
    offered = [csrf, request.headers.get(CSRF_HEADER, "")]
    if not upload_allowed(request, offered, state.form_secret, state.settings.token):
        raise ApiError(
            403,
            "an upload needs this server's form secret (field csrf or header X-Shashin-CSRF, "
            "from GET /api/csrf) or its token",
        )
    path = await _save_upload(upload, state.settings)
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


def display_name(filename: str | None) -> str:
    """An uploaded file's name as it may be shown: no path, no control characters, bounded."""
    name = os.path.basename((filename or "").replace("\\", "/"))
    name = "".join(ch for ch in name if ch.isprintable())[:100]
    return name or "the upload"


async def _save_upload(upload: UploadFile, settings: WebSettings) -> Path:
    """The uploaded photo in a private temporary file, once it is known to be a bounded image."""
    from PIL import Image, UnidentifiedImageError

    data = await upload.read(settings.max_upload_bytes + 1)
    if len(data) > settings.max_upload_bytes:
        raise ApiError(413, f"the photo is larger than {settings.max_upload_bytes // 1_000_000} MB")
    if not data:
        raise ApiError(400, "the upload is empty")
    suffix = re.sub(r"[^A-Za-z0-9.]", "", os.path.splitext(display_name(upload.filename))[1])[:10]
    handle, name = tempfile.mkstemp(prefix="shashin-upload-", suffix=suffix)
    path = Path(name)
    with os.fdopen(handle, "wb") as file:
        file.write(data)
    try:
        with Image.open(path) as image:  # reads the header only: dimensions before any decoding
            width, height = image.size
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        path.unlink(missing_ok=True)
        raise ApiError(400, f"{display_name(upload.filename)} is not an image shashin can read") from exc
    if width * height > settings.max_upload_pixels:
        path.unlink(missing_ok=True)
        raise ApiError(
            413,
            f"the photo has {width}×{height} pixels; the limit is {settings.max_upload_pixels // 1_000_000} megapixels",
        )
    return path
