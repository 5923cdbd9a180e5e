"""Reading request bodies the way the real services do."""

from __future__ import annotations

from starlette.requests import Request

from fakes.common.errors import ServiceError


def media_type(request: Request) -> str:
    """The Content-Type without parameters, lower-cased: 'application/json; charset=utf-8' ->
    'application/json'; '' when absent."""
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, or ServiceError(413) when it is longer than `limit` bytes.

    An oversize body is still read to its end (and dropped): clients that send the whole body
    before reading the answer (urllib, requests) then get the 413, not a connection reset.
    """
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size <= limit:
            chunks.append(chunk)
    if size > limit:
        raise ServiceError(413)
    return b"".join(chunks)
