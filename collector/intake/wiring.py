"""Builds the customer side from the collector's config: the mail intake, the verifier, the
reply channel, their routes and the ticket fields of incident detail."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine
from starlette.routing import Route

from collector.api.customer_side import link_routes, ticket_details, verification_routes
from collector.config import CollectorConfig
from collector.incidents.customers import CustomerBook
from collector.incidents.model import Incident
from collector.incidents.service import IncidentService
from collector.intake.replies import ReplyChannel
from collector.intake.service import MailIntake
from collector.intake.settings import MailIntakeConfig, VerificationConfig
from collector.notify.channels import Channel
from collector.notify.customer_notices import CustomerNotices
from collector.notify.message import Language
from collector.notify.worker import DeliveryWorkers
from collector.verification.service import Verifier

DEFAULT_LINK_WINDOW = 7200.0


@dataclass
class CustomerSide:
    """What the composition root plugs in."""

    intake: MailIntake | None = None
    verifier: Verifier | None = None
    channel: ReplyChannel | None = None
    routes: list[Route] = field(default_factory=list)
    details: Callable[[Incident, bool], dict[str, Any]] | None = None


@dataclass(frozen=True)
class SideSettings:
    """The config the customer side reads."""

    intake: MailIntakeConfig | None
    verification: VerificationConfig | None
    reply_url: str | None  # mail_intake.reply_url, else customer_mail
    number_prefix: str = "INC"
    language: Language = "en"


def customer_side(
    settings: SideSettings,
    engine: Engine,
    incidents: IncidentService,
    book: CustomerBook | None,
    clock: Callable[[], float],
    hosts: Callable[[], Iterable[str]],
    make_channel: Callable[[str], Channel],
    delivery: DeliveryWorkers,
) -> CustomerSide:
    """Build what is configured (the reply channel joins `delivery`); links and ticket
    fields always."""
    on_commit = delivery.wake
    window = settings.intake.link_window if settings.intake else DEFAULT_LINK_WINDOW
    side = CustomerSide(
        routes=link_routes(engine, incidents, clock),  # verification's: added below
        details=ticket_details(engine, book, window),
    )
    if settings.reply_url and (settings.intake or settings.verification):
        side.channel = ReplyChannel(settings.reply_url, make_channel)
        delivery.add_channel(side.channel)
    if settings.intake is not None:
        side.intake = MailIntake(
            settings.intake, engine, incidents, book, clock, hosts=hosts,
            number_prefix=settings.number_prefix, language=settings.language,
            on_commit=on_commit,
        )  # fmt: skip
    if settings.verification is not None:
        side.verifier = _verifier(settings, engine, incidents, book, clock, on_commit)
        if side.intake is not None:
            side.intake.answer = side.verifier.answer_mail
    side.routes += verification_routes(side.verifier, clock)
    return side


def _verifier(
    settings: SideSettings,
    engine: Engine,
    incidents: IncidentService,
    book: CustomerBook | None,
    clock: Callable[[], float],
    on_commit: Callable[[], None],
) -> Verifier:
    assert settings.verification is not None
    words = tuple(settings.intake.still_broken) if settings.intake else ()
    verifier = Verifier(
        settings.verification, engine, incidents, book, clock,
        still_broken=words, language=settings.language, on_commit=on_commit,
    )  # fmt: skip
    previous = incidents.on_transition

    def both(incident: Incident, transition: Any) -> None:
        if previous is not None:
            previous(incident, transition)
        verifier.on_transition(incident, transition)

    incidents.on_transition = both
    return verifier


def share_requests(side: CustomerSide, notices: CustomerNotices | None) -> None:
    """When the customer notices ask the customer's contacts to verify, they carry this
    verifier's signed links, and the verifier mails only a reporter who is not a contact."""
    if side.verifier is None or notices is None:
        return
    notices.verification = side.verifier.lines
    side.verifier.contacts_asked_elsewhere = True


def side_settings(config: CollectorConfig) -> SideSettings:
    """The customer side's part of the collector's config."""
    intake = config.mail_intake
    url = intake.reply_url if intake and intake.reply_url else config.customer_mail
    if (intake or config.verification) and url is None:
        raise ValueError(
            "mail_intake and verification answer by e-mail: set mail_intake.reply_url or "
            "customer_mail (a mailto:// URL whose from= is the support address)"
        )
    return SideSettings(
        intake,
        config.verification,
        url.get_secret_value() if url else None,
        config.incidents.number_prefix,
        config.language,
    )
