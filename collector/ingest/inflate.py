"""Gunzip for report bodies: ISA-L's inflate (the `isal` package) where it is installed, which
takes under half zlib's time for a report, else the standard library's zlib."""

from __future__ import annotations

import zlib
from typing import Any

try:
    from isal import isal_zlib

    library: Any = isal_zlib
except ImportError:  # a platform without an isal wheel
    library = zlib

GZIP_WBITS = 16 + zlib.MAX_WBITS


class InflateError(ValueError):
    """The body is not gzip (the library's reason)."""


def gunzip(body: bytes, max_length: int) -> tuple[bytes, bool]:
    """At most `max_length` bytes of the gzip `body` (a bomb is never inflated further), and
    whether its end was reached; InflateError for data that is not gzip."""
    inflater = library.decompressobj(GZIP_WBITS)
    try:
        data: bytes = inflater.decompress(body, max_length)
    except library.error as exc:
        raise InflateError(str(exc)) from exc
    return data, bool(inflater.eof)
