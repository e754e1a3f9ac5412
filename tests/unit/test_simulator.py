"""The simulator's pure parts: synthetic campaigns, the plan a seed decides, and how a person meets a lost race."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from services.simulator import scenario
from services.simulator.client import ApiError, Client
from services.simulator.plan import Figures, differs_little, plan_campaign
from services.simulator.scenario import Target, _Run
from services.simulator.synthetic import document, synthetic_campaign_text, write_synthetic_campaign
from shared.auth import TokenAuthority
from shared.campaigns import default_campaign, load_campaign
from shared.clock import FixedClock


def test_a_synthetic_campaign_is_a_valid_file_of_n_units_in_both_tracks(tmp_path: Path) -> None:
    path, campaign = write_synthetic_campaign(1000, 9, tmp_path)

    assert load_campaign(path) == campaign
    assert len(campaign.units) == 1000
    district, commune = campaign.units_of("district"), campaign.units_of("commune")
    assert len(district) + len(commune) == 1000 and len(district) == 400
    assert campaign.tracks == default_campaign().tracks, "the plan's prize ladder is kept"
    assert {m.unit for m in campaign.council.members} - {None} <= {u.code for u in campaign.units}


def test_a_synthetic_campaign_is_the_same_for_the_same_size_and_seed() -> None:
    assert synthetic_campaign_text(50, 1) == synthetic_campaign_text(50, 1)
    assert synthetic_campaign_text(50, 1) != synthetic_campaign_text(50, 2)


def test_a_synthetic_campaign_needs_a_unit_per_track() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        synthetic_campaign_text(1, 1)


def test_a_plan_is_decided_by_its_seed() -> None:
    campaign = default_campaign()

    assert plan_campaign(campaign, 2021) == plan_campaign(campaign, 2021)
    assert plan_campaign(campaign, 2021) != plan_campaign(campaign, 2022)


def test_a_plan_plays_every_path_of_the_scenario() -> None:
    plan = plan_campaign(default_campaign(), 2021)
    by_kind = {kind: [u for u in plan.units if u.figures is kind] for kind in Figures}

    assert all(by_kind.values()), "matching, slightly different and very different figures all occur"
    assert any(u.document_return for u in plan.units)
    assert len([u for u in plan.units if u.submit_day is None]) == 1
    assert plan.late.figures is Figures.MATCH and not plan.late.document_return, "only the deadline stops it"
    assert all(1 <= u.submit_day <= 6 for u in plan.on_time if u.submit_day is not None)


def test_returned_units_submit_early_enough_to_resubmit_before_the_deadline(tmp_path: Path) -> None:
    _, campaign = write_synthetic_campaign(300, 4, tmp_path)
    plan = plan_campaign(campaign, 4)

    returned = [u for u in plan.units if u.returned and u.submit_day is not None]
    assert returned and all(u.submit_day is not None and u.submit_day <= 4 for u in returned)


def test_a_reviewer_overrides_small_differences_and_returns_large_ones() -> None:
    plan = plan_campaign(default_campaign(), 2021)

    for unit in plan.units:
        small = differs_little(unit.declared.as_dict(), unit.official.as_dict())
        assert small == (unit.figures is not Figures.LARGE), unit


def test_documents_are_small_pdf_and_png_files_that_differ_per_unit() -> None:
    pdf, pdf_name = document("hoa-tan", "to_trinh")
    png, png_name = document("hoa-tan", "danh_sach_tom_tat")

    assert pdf.startswith(b"%PDF-") and pdf_name.endswith(".pdf")
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and png_name.endswith(".png")
    assert document("an-khanh", "to_trinh")[0] != pdf
    assert len(pdf) < 1000 and len(png) < 1000


class RacingClient(Client):
    """A client whose every request loses ``losses`` races (409 concurrent_update) first, or fails with ``error``."""

    def __init__(self, losses: int, error: ApiError | None = None) -> None:
        super().__init__({})
        self.losses, self.error, self.sent = losses, error, 0

    def call(self, method: str, path: str, token: str, **kwargs: Any) -> tuple[Any, Mapping[str, str]]:
        self.sent += 1
        if self.error is not None:
            raise self.error
        if self.sent <= self.losses:
            raise ApiError(method, path, 409, {"code": "concurrent_update", "detail": "tải lại rồi thử lại"})
        return {"ok": True}, {}


def a_run(client: Client, monkeypatch: pytest.MonkeyPatch) -> _Run:
    monkeypatch.setattr(scenario, "CONFLICT_PAUSE_SECONDS", 0.0)
    campaign = default_campaign()
    target = Target({}, TokenAuthority("k" * 32, FixedClock(datetime(2021, 12, 1, tzinfo=UTC)), 1), lambda _: None)
    run = _Run(target, campaign, plan_campaign(campaign, 1), lambda _: None, 1)
    run.client = client
    return run


def test_a_person_refused_for_a_concurrent_update_tries_again(monkeypatch: pytest.MonkeyPatch) -> None:
    run = a_run(RacingClient(losses=3), monkeypatch)

    assert run._post("/awards/sessions/s/votes", "token", {"choice": "approve"}) == {"ok": True}
    assert (run.requests, run.conflicts) == (4, 3)


def test_retrying_a_concurrent_update_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    client = RacingClient(losses=1000)
    run = a_run(client, monkeypatch)

    with pytest.raises(ApiError, match="concurrent_update"):
        run._post("/awards/sessions/s/votes", "token")
    assert client.sent == scenario.CONFLICT_ATTEMPTS


def test_any_other_refusal_is_not_tried_again(monkeypatch: pytest.MonkeyPatch) -> None:
    client = RacingClient(
        losses=0, error=ApiError("POST", "/intake/dossiers/d/submit", 409, {"code": "deadline_passed"})
    )
    run = a_run(client, monkeypatch)

    with pytest.raises(ApiError, match="deadline_passed"):
        run._post("/intake/dossiers/d/submit", "token")
    assert (client.sent, run.conflicts) == (1, 0)
