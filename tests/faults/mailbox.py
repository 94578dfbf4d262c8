"""What the fault tests read off received e-mails: (ticket, event) pairs, and the repeats."""

from __future__ import annotations

from collections import Counter

from tests.peers.smtp import ReceivedMail


def ticket_events(mails: list[ReceivedMail]) -> list[tuple[str, str]]:
    """(ticket number, event word) of each mail in order, e.g. ("INC-2026-000001", "OPEN").

    The subject reads "[P1] INC-2026-000001 OPEN FaultLevelHigh: ..."; the ticket comes from
    the X-Watchkeeper-Ticket header, so a subject without its number would not match.
    """
    return [(str(m.message["X-Watchkeeper-Ticket"]), m.subject.split()[2]) for m in mails]


def repeated(mails: list[ReceivedMail]) -> dict[tuple[str, str], int]:
    """(ticket, event) pairs received more than once, with how often."""
    counts = Counter(ticket_events(mails))
    return {key: count for key, count in counts.items() if count > 1}
