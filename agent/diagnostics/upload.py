"""Answering the collector's snapshot requests: take each snapshot and POST it to
/api/v1/snapshots on a connection of its own (opened only when a request came)."""

from __future__ import annotations

import gzip
import logging
from collections.abc import Callable

from agent.connection import CollectorConnection, ConnectError, ExchangeError, TlsFiles
from agent.diagnostics.collect import SnapshotTaker
from agent.diagnostics.model import SNAPSHOTS_PATH, SnapshotRequest, encode_snapshot

logger = logging.getLogger(__name__)


class SnapshotResponder:
    """Takes the snapshots the collector asked for in its last answers and sends them."""

    def __init__(
        self,
        taker: SnapshotTaker,
        requests: Callable[[], list[SnapshotRequest]],
        collector: str,
        headers: dict[str, str],
        timeout: float,
        tls: TlsFiles | None = None,
    ) -> None:
        self._taker = taker
        self._requests = requests
        self._url = collector.rstrip("/") + SNAPSHOTS_PATH
        self._headers = {**headers, "Content-Type": "application/json"}
        self._headers["Content-Encoding"] = "gzip"
        self._timeout = timeout
        self._tls = tls
        self._connection: CollectorConnection | None = None
        self.snapshots_sent_total = 0

    def answer(self) -> int:
        """Take and send every pending request's snapshot; returns how many were accepted."""
        sent = 0
        for request in self._requests():
            snapshot = self._taker.take(request)
            body = gzip.compress(encode_snapshot(snapshot), mtime=0)
            sent += self._post(request.id, body)
        self.snapshots_sent_total += sent
        return sent

    def close(self) -> None:
        """Close the snapshot connection, if one was opened."""
        if self._connection is not None:
            self._connection.close()

    def _post(self, request_id: int, body: bytes) -> int:
        if self._connection is None:
            self._connection = CollectorConnection(self._url, self._timeout, self._tls)
        try:
            answer = self._connection.post(body, self._headers)
        except (ConnectError, ExchangeError) as exc:
            # Not spooled: a snapshot is evidence of the moment, and the collector asks again
            # for the next incident.
            logger.warning("snapshot %d not sent to %s: %s", request_id, self._url, exc)
            return 0
        if not 200 <= answer.status < 300:
            logger.warning("snapshot %d refused by %s: HTTP %d %s",
                           request_id, self._url, answer.status, answer.text[:300])  # fmt: skip
            return 0
        logger.info("snapshot %d sent (%d bytes gzip)", request_id, len(body))
        return 1
