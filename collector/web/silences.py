"""The silences page: silences and maintenance windows in force or to come, the form that adds
one (validated by the API's own model), and expiring one."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from collector.api.context import ApiContext
from collector.api.silences import SilenceBody
from collector.noise.silences import Silence

PREVIEW_SHOWN = 100  # incidents listed by a preview (the count says how many in all)


class SilenceFormError(ValueError):
    """The silence form is wrong; the message says where."""


def parse_matchers(text: str) -> dict[str, str]:
    """`label=value` lines (value in rule matcher syntax: `~regex`, `!value`) as a mapping."""
    matchers: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        name, sep, value = line.partition("=")
        if not sep or not name.strip():
            raise SilenceFormError(
                f"matchers line {number}: {line.strip()!r} is not label=value "
                "(e.g. host=web1, or rule=~Disk.*)"
            )
        matchers[name.strip()] = value.strip()
    return matchers


def silence_from_form(form: dict[str, str], author: str, now: float) -> Silence:
    """The silence a submitted form describes, checked like POST /api/v1/silences."""
    try:
        body = SilenceBody.model_validate(
            {
                "matchers": parse_matchers(form.get("matchers", "")),
                "reason": form.get("reason", "").strip(),
                "duration": form.get("duration", "").strip() or None,
            }
        )
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'form'}: {e['msg']}" for e in exc.errors()
        )
        raise SilenceFormError(problems) from exc
    assert body.duration is not None  # recurrence is not offered by this form
    return Silence(
        matchers=dict(body.matchers),
        starts_at=now,
        ends_at=now + body.duration,
        author=author,
        reason=body.reason,
    )


def similar_matchers(host: str, rule: str) -> str:
    """The silence form's matchers for incidents like one of `rule` on `host`."""
    return "\n".join(f"{k}={v}" for k, v in (("host", host), ("rule", rule)) if v)


def silences_context(ctx: ApiContext, show_ended: bool, matchers: str = "") -> dict[str, Any]:
    """The silences to list, and the form prefilled with `matchers` (call it off the event
    loop)."""
    now = ctx.clock()
    return {
        "silences": [(s, s.active_until(now)) for s in ctx.silences.search(now, show_ended)],
        "show_ended": show_ended,
        "form": {"matchers": matchers[:2000], "duration": "2h", "reason": ""},
        "message": "",
    }


def preview_context(ctx: ApiContext, silence: Silence) -> dict[str, Any]:
    """The active incidents and the hosts `silence` would hold back now (call it off the
    event loop): nothing is stored."""
    incidents = [i for i in ctx.reader.active() if silence.matches(i.match_labels())]
    hosts = {name for i in incidents for name in (i.host, *i.hosts) if name}
    hosts |= {h.name for h in ctx.hosts if silence.matches({"host": h.name})}
    incidents.sort(key=lambda i: (i.priority.rank, -i.opened_at))
    return {
        "preview": {
            "count": len(incidents),
            "incidents": [
                {"number": i.number, "priority": i.priority.value, "summary": i.summary}
                for i in incidents[:PREVIEW_SHOWN]
            ],
            "hosts": sorted(hosts),
        }
    }
