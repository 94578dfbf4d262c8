"""The incident page's root-cause form (P1/P2 need one to close): read and checked by the
API's own model, stored by the knowledge service like POST /api/v1/incidents/{ref}/root-cause."""

from __future__ import annotations

from pydantic import ValidationError

from collector.api.knowledge import RootCauseBody
from collector.incidents.rootcause import Category, FollowUp, RootCause
from collector.web.incidents import FormError

CATEGORIES = tuple(c.value for c in Category)
FORM_ACTION = "root-cause"


def root_cause_from_form(form: dict[str, str], author: str) -> RootCause:
    """The root cause a submitted form describes (one follow-up action), or FormError naming
    the fields that are wrong."""
    follow_up = {k: form.get(f"action_{k}", "").strip() for k in ("action", "owner", "due")}
    try:
        body = RootCauseBody.model_validate(
            {
                "cause": form.get("cause", "").strip(),
                "fix": form.get("fix", "").strip(),
                "category": form.get("category", ""),
                "actions": [follow_up],
            }
        )
    except ValidationError as exc:
        raise FormError(
            "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'form'}: {e['msg']}" for e in exc.errors()
            )
        ) from exc
    return RootCause(
        cause=body.cause,
        fix=body.fix,
        category=body.category,
        actions=tuple(FollowUp(a.action, a.owner, a.due) for a in body.actions),
        author=author,
        recorded_at=0.0,
    )
