"""Every HTTP answer (API, console, /metrics) passes the collector's Redactor on its way out."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from collector.redaction import Redactor


class RedactingMiddleware:
    """Masks known secrets in response bodies; fixes Content-Length when a body shrinks.

    Bodies sent in one piece (all of ours) are redacted whole; a streamed body is redacted
    chunk by chunk (a secret split across two chunks would pass, so the API never streams).
    """

    def __init__(self, app: ASGIApp, redactor: Redactor) -> None:
        self.app = app
        self._redactor = redactor

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start: Message | None = None

        async def sending(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] == "http.response.body" and start is not None:
                body = self._redactor.redact_bytes(message.get("body", b""))
                if not message.get("more_body", False):
                    start = _with_length(start, len(body))
                await send(start)
                start = None
                message = {**message, "body": body}
            await send(message)

        await self.app(scope, receive, sending)
        if start is not None:  # an answer without a body message
            await send(start)


def _with_length(start: Message, length: int) -> Message:
    headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
    return {**start, "headers": [*headers, (b"content-length", str(length).encode())]}
