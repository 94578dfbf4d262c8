"""Report gunzip on both back ends (ISA-L and zlib): the same bytes, a bomb stopped at the
limit, a truncated body noticed, garbage refused with the library's reason."""

from __future__ import annotations

import gzip
import zlib

import pytest

from collector.ingest import inflate

BACKENDS = ["isal", "zlib"]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "zlib":
        monkeypatch.setattr(inflate, "library", zlib)
    else:
        pytest.importorskip("isal")
        assert inflate.library.__name__ == "isal.isal_zlib"
    return str(request.param)


def test_a_report_comes_back_whole(backend: str) -> None:
    body = b'{"schema":"watchkeeper.report/v1","host":"\xe6\x9c\x8d\xe5\x8a\xa1\xe5\x99\xa8"}' * 50
    assert inflate.gunzip(gzip.compress(body), 1 << 20) == (body, True)


def test_a_bomb_is_inflated_no_further_than_the_limit(backend: str) -> None:
    bomb = gzip.compress(b"\0" * (64 << 20))
    data, complete = inflate.gunzip(bomb, 1 << 20)
    assert len(data) == 1 << 20 and not complete


def test_a_truncated_body_is_not_complete_and_garbage_is_refused(backend: str) -> None:
    whole = gzip.compress(b"x" * 100_000)
    data, complete = inflate.gunzip(whole[: len(whole) // 2], 1 << 20)
    assert not complete and len(data) < 100_000
    with pytest.raises(inflate.InflateError):
        inflate.gunzip(b"this is not gzip", 1 << 20)
