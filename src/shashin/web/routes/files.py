"""A photo's bytes: its thumbnail and its original file, served only by photo id and only while
the file is what was indexed."""

from __future__ import annotations

import mimetypes
from typing import Any, BinaryIO
from urllib.parse import quote

from fastapi import APIRouter
from fastapi.responses import Response, StreamingResponse

from shashin import storage
from shashin.library import LibraryError
from shashin.web.state import ApiError, State

router = APIRouter()


@router.get("/api/photos/{photo_id}/thumbnail", tags=["photos"], summary="The photo's thumbnail (WebP)")
def api_thumbnail(state: State, photo_id: str) -> Response:
    state.detail(photo_id)
    data = state.library.thumbnail(photo_id)
    if data is None:
        raise ApiError(404, f"photo {photo_id} has no thumbnail")
    return Response(data, media_type="image/webp", headers={"Cache-Control": "private, max-age=86400"})


@router.get("/api/photos/{photo_id}/file", tags=["photos"], summary="The original file")
def api_file(state: State, photo_id: str) -> Response:
    """Only while it is the file that was indexed (see Library.open_original)."""
    state.detail(photo_id)
    try:
        original = state.library.open_original(photo_id)
    except LibraryError as exc:  # no file of it can be served: for this route, not found
        raise ApiError(404, str(exc)) from exc
    name = storage.basename(original.path)
    return StreamingResponse(
        _chunks(original.handle),
        media_type=mimetypes.guess_type(name)[0] or "application/octet-stream",
        headers={
            "Content-Disposition": f"inline; filename*=UTF-8''{quote(name)}",
            "Content-Length": str(original.size),
        },
    )


def _chunks(handle: BinaryIO, size: int = 1 << 20) -> Any:
    """An open file's bytes in pieces, for streaming an original; closes it at the end."""
    with handle:
        while chunk := handle.read(size):
            yield chunk
