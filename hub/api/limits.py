"""A bound on request bodies, enforced before they are read.

``BodyLimit`` is ASGI middleware: a request whose ``Content-Length`` is over the limit is answered 413
before a byte of its body is read; a body without a length (chunked) is counted as the app reads it,
and reading stops with a 413 at the limit. Routes that take a body check the caller's token first and
read the body after (hub/api/routes/deadletters.py), so an unauthenticated upload is never read at all.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.api.problems import problem_response


class BodyLimit:
    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _too_large(self) -> str:
        return f"request body larger than the limit of {self.max_bytes} bytes (CITYLAB_API_MAX_BODY_BYTES)"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and (declared < 0 or declared > self.max_bytes):
            status = 400 if declared < 0 else 413
            detail = "invalid Content-Length" if declared < 0 else self._too_large()
            # Connection: close, so the server does not go on reading (and discarding) the rest.
            response = problem_response(status, detail, {"Connection": "close"})
            await response(scope, receive, send)
            return
        received = 0
        has_body = (declared or 0) > 0 or _header(scope, b"transfer-encoding") is not None
        body_read = False

        async def counted() -> Message:
            nonlocal received, body_read
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # Rendered as a problem document by the app's HTTPException handler.
                    raise HTTPException(413, self._too_large(), headers={"Connection": "close"})
                body_read = not message.get("more_body", False)
            return message

        async def closing(message: Message) -> None:
            # Refused before its body was read (a wrong token, say): close the connection rather than
            # let the server read, and throw away, the rest of the upload.
            if message["type"] == "http.response.start" and message["status"] >= 400 and has_body and not body_read:
                headers = [(name, value) for name, value in message.get("headers", []) if name != b"connection"]
                message = {**message, "headers": [*headers, (b"connection", b"close")]}
            await send(message)

        await self.app(scope, counted, closing)


def _header(scope: Scope, wanted: bytes) -> bytes | None:
    for name, value in scope.get("headers", []):
        if name == wanted:
            return bytes(value)
    return None


def _content_length(scope: Scope) -> int | None:
    value = _header(scope, b"content-length")
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return -1
