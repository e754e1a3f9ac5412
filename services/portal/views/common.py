"""Everyone's pages: sign-in and sign-out, and the campaign dashboard."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, redirect, render_template, request, url_for

from services.portal import formats
from services.portal.access import (
    account,
    api,
    clear_session_cookie,
    portal,
    relay,
    set_session_cookie,
    signed_in,
)
from services.portal.client import ApiClient, ApiProblem
from services.portal.handlers import SignInRefused, close_session, open_session
from services.portal.handlers import sign_in as check_password
from services.portal.states import DOSSIER_STATES

blueprint = Blueprint("common", __name__)


@blueprint.route("/sign-in", methods=["GET", "POST"])
def sign_in() -> Any:
    """Password sign-in. An OpenID Connect provider would add its own callback route that, having mapped the
    provider's subject to an account, opens the session the same way (``open_session``)."""
    next_page = _local_path(request.values.get("next"))
    if account() is not None:
        return redirect(next_page)
    if request.method == "GET":
        return render_template("sign_in.html", next=next_page, username="", error=None)
    username = request.form.get("username", "").strip().lower()
    runtime = portal()
    refused: SignInRefused | None = None
    with runtime.transaction() as session:  # commits the failure count too: a refusal is no exception here
        try:
            person = check_password(
                session, username, request.form.get("password", ""), runtime.lockout, runtime.clock.now()
            )
            token, _ = open_session(session, person, runtime.clock.now(), runtime.settings.session_hours)
        except SignInRefused as err:
            refused = err
    if refused is not None:
        return render_template("sign_in.html", next=next_page, username=username, error=refused.message), 401
    response = redirect(next_page)
    set_session_cookie(response, token, int(runtime.settings.session_hours * 3600))
    return response


@blueprint.post("/sign-out")
def sign_out() -> Any:
    if g.get("session_token"):
        with portal().transaction() as session:
            close_session(session, g.session_token)
    response = redirect(url_for("common.sign_in", notice="signed_out"))
    clear_session_cookie(response)
    return response


@blueprint.get("/")
@signed_in
def dashboard() -> Any:
    """Every unit of the campaign at a glance, the deadlines and the days left; each person sees the dossiers
    the intake API shows them (staff: every unit's; a clerk: their own) and the awards once decided."""
    client = api()
    campaigns = client.get("/intake/campaigns")
    if not campaigns:
        return render_template("dashboard.html", campaign=None)
    wanted = request.args.get("campaign") or campaigns[0]["code"]
    campaign = client.get(f"/intake/campaigns/{wanted}")
    dossiers = client.get("/intake/dossiers", campaign=campaign["code"], page_size=100)
    try:
        awards = client.get(f"/awards/campaigns/{campaign['code']}/awards")
    except ApiProblem:
        awards = {"tracks": []}
    now = portal().clock.now()
    deadlines = [
        {
            "name": name,
            "date": campaign["deadlines"][key]["date"],
            "days": formats.days_left(campaign["deadlines"][key]["date"], now),
        }
        for key, name in (
            ("dossier", "Hạn nộp hồ sơ của các đơn vị"),
            ("proposal", "Hạn Phòng Văn hóa và Thông tin đề nghị khen thưởng"),
        )
    ]
    return render_template(
        "dashboard.html",
        campaign=campaign,
        campaigns=campaigns,
        deadlines=deadlines,
        tracks=_units_by_track(campaign, dossiers, _awards_by_unit(awards)),
        sees_every_unit=not _is_clerk_only(),
    )


def campaign_of(client: ApiClient, code: str | None) -> dict[str, Any]:
    """The campaign a page is about: the one named, else the first the intake API lists."""
    code = code or client.get("/intake/campaigns")[0]["code"]
    campaign: dict[str, Any] = client.get(f"/intake/campaigns/{code}")
    return campaign


def table_or_file(path: str, template: str, campaign: dict[str, Any], name: str) -> Any:
    """A service's table as a page, or with ``?format=csv|xlsx`` the service's own file, as the person's download."""
    if request.args.get("format") in ("csv", "xlsx"):
        return relay(path, format=request.args["format"])
    return render_template(template, campaign=campaign, **{name: api().get(path)})


def _units_by_track(
    campaign: dict[str, Any], dossiers: list[dict[str, Any]], awards: dict[str, list[dict[str, Any]]]
) -> list[dict[str, Any]]:
    by_unit: dict[str, list[dict[str, Any]]] = {}
    for dossier in dossiers:
        by_unit.setdefault(dossier["unit"], []).append(
            {**dossier, "state_name": DOSSIER_STATES.get(dossier["state"], dossier["state"])}
        )
    return [
        {
            "name": track["name"],
            "units": [
                {**unit, "dossiers": by_unit.get(unit["code"], []), "awards": awards.get(unit["code"], [])}
                for unit in campaign["units"]
                if unit["track"] == track["code"]
            ],
        }
        for track in campaign["tracks"]
    ]


def _awards_by_unit(awards: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for track in awards.get("tracks", []):
        for award in [*track.get("collectives", []), *track.get("individuals", [])]:
            found.setdefault(award["unit"], []).append(award)
    return found


def _is_clerk_only() -> bool:
    person = account()
    return person is not None and set(person.roles) == {"unit_clerk"}


def _local_path(target: str | None) -> str:
    """Only a path of this site may be returned to after sign-in, never another site (an open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return url_for("common.dashboard")
    return target
