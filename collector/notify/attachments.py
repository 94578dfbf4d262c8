"""Files sent with a message (a report's PDF): how they ride in an outbox payload (base64)."""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024  # most mail servers refuse larger messages


@dataclass(frozen=True)
class Attachment:
    """One file: its name as the recipient sees it, its MIME type, its bytes."""

    filename: str
    content_type: str
    data: bytes

    @property
    def maintype(self) -> str:
        """`application` of `application/pdf`."""
        return self.content_type.partition("/")[0]

    @property
    def subtype(self) -> str:
        """`pdf` of `application/pdf`."""
        return self.content_type.partition("/")[2] or "octet-stream"


def encode_attachments(files: Iterable[Attachment]) -> list[dict[str, str]]:
    """The payload form: JSON-safe, the bytes in base64."""
    encoded = []
    for item in files:
        if len(item.data) > MAX_ATTACHMENT_BYTES:
            raise ValueError(
                f"attachment {item.filename} is {len(item.data)} bytes; the limit is "
                f"{MAX_ATTACHMENT_BYTES} (mail servers refuse more)"
            )
        data = base64.b64encode(item.data).decode("ascii")
        encoded.append({"filename": item.filename, "content_type": item.content_type, "data": data})
    return encoded


def decode_attachments(payload: Mapping[str, Any]) -> tuple[Attachment, ...]:
    """The attachments an outbox payload carries (none for most messages)."""
    return tuple(
        Attachment(a["filename"], a["content_type"], base64.b64decode(a["data"]))
        for a in payload.get("attachments") or ()
    )
