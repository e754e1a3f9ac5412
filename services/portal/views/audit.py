"""The auditor's pages: the log searched with every filter of ``GET /audit/entries``, one dossier's timeline, and
the verification of the hash chain.

Filters are named as the API names them, so the API's field errors land next to the filter they concern. Days
may be written dd/mm/yyyy, as everywhere in the portal; they are sent as ISO days, which the API reads as the
whole local day.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request

from services.portal.access import api, portal, relay, requires_role
from services.portal.client import ApiProblem
from services.portal.forms import read_day
from shared.auth import ROLES
from shared.catalogue import CATALOGUE

blueprint = Blueprint("audit", __name__, url_prefix="/log")

AUDITORS = ("auditor", "admin")
TEXT_FILTERS = ("subject", "dossier", "actor")
TIME_FILTERS = ("occurred_from", "occurred_to", "recorded_from", "recorded_to")
PAGE_SIZES = (50, 100, 200, 500)


@blueprint.get("/")
@requires_role(*AUDITORS)
def search() -> Any:
    """The log, newest first unless asked otherwise; ``?format=csv`` exports every match."""
    query = _query(request.args)
    if request.args.get("format") == "csv":
        return relay("/audit/entries", **query, format="csv")
    errors: dict[str, list[str]] = {}
    found: dict[str, Any] = {"entries": [], "next": None}
    try:
        found = api().get("/audit/entries", **query)
    except ApiProblem as problem:
        if problem.status != 400:
            raise
        errors = problem.errors or {"subject": [problem.detail]}
    page = render_template(
        "audit/search.html",
        wanted=request.args,
        types=sorted({type_ for type_, _ in CATALOGUE.types()}),
        chosen=set(request.args.getlist("type")),
        units=[unit for campaign in portal().campaigns.values() for unit in campaign.units],
        campaigns=portal().campaigns.values(),
        roles=ROLES,
        page_sizes=PAGE_SIZES,
        entries=found["entries"],
        next_cursor=found["next"],
        next_args={**{k: v for k, v in request.args.items() if k not in ("cursor", "type")}, "cursor": found["next"]},
        errors=errors,
    )
    return (page, 400) if errors else page


def _query(args: Any) -> dict[str, Any]:
    """The API's query from the form's: empty filters left out, days turned to ISO, types joined by commas."""
    query: dict[str, Any] = {key: args.get(key, "").strip() for key in (*TEXT_FILTERS, "unit", "role", "campaign")}
    for key in TIME_FILTERS:
        text = args.get(key, "").strip()
        day = read_day(text)
        query[key] = day.isoformat() if day else text
    query["type"] = ",".join(args.getlist("type"))
    query["sort"] = args.get("sort") or "seq"
    query["order"] = args.get("order") or "newest"
    query["page_size"] = args.get("page_size") or PAGE_SIZES[0]
    query["cursor"] = args.get("cursor", "")
    return query


@blueprint.get("/subjects/<subject_id>")
@requires_role(*AUDITORS)
def timeline(subject_id: str) -> Any:
    """Everything that happened to one dossier across the services, in the order it happened."""
    if request.args.get("format") == "csv":
        return relay(f"/audit/subjects/{subject_id}", format="csv")
    return render_template("audit/timeline.html", timeline=api().get(f"/audit/subjects/{subject_id}"))


@blueprint.get("/verify")
@requires_role(*AUDITORS)
def verify() -> Any:
    """Walk the whole chain; with a head noted earlier (its number and hash), check it is still there."""
    seq, digest = request.args.get("seq", "").strip(), request.args.get("hash", "").strip()
    errors: dict[str, list[str]] = {}
    verdict = None
    try:
        verdict = api().get("/audit/verify", seq=seq, hash=digest)
    except ApiProblem as problem:
        if problem.status != 400:
            raise
        errors = problem.errors or {"seq": [problem.detail]}
    page = render_template("audit/verify.html", verdict=verdict, seq=seq, digest=digest, errors=errors)
    return (page, 400) if errors else page
