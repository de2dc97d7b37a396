"""Reading a request body within the configured limit."""
from __future__ import annotations

from aiohttp import web

__all__ = ["BodyTooLarge", "read_body"]


class BodyTooLarge(Exception):
    pass


async def read_body(request: web.Request, limit: int) -> bytes:
    """The whole body, or BodyTooLarge as soon as it exceeds `limit` bytes."""
    if request.content_length is not None and request.content_length > limit:
        raise BodyTooLarge
    body = await request.content.read(limit + 1)
    if len(body) > limit:
        raise BodyTooLarge
    # read(n) may return early; keep reading until EOF or over the limit.
    chunks = [body]
    size = len(body)
    while not request.content.at_eof():
        chunk = await request.content.read(limit + 1 - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
    return b"".join(chunks)
