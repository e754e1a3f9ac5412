"""``thidua simulate``: play a whole campaign through the HTTP routes and print what came of it.

Without ``--url`` it runs the embedded system in this process on a temporary data folder; with ``--url`` it plays
against a running system, signing tokens with the settings' key and turning the days with THIDUA_CLOCK_FILE.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import date, datetime
from datetime import time as time_of_day
from pathlib import Path

import click

from services.bootstrap import signing_key
from services.simulator.embedded import campaigns_folder, embedded_target
from services.simulator.scenario import SERVICES, ClockFile, Report, Target, simulate
from services.simulator.synthetic import write_synthetic_campaign
from shared.auth import TokenAuthority
from shared.campaigns import Campaign, CampaignError, load_campaigns
from shared.clock import LOCAL_TZ, FixedClock
from shared.money import format_vnd
from shared.settings import Settings, SettingsError


@click.group("simulate", invoke_without_command=True)
@click.option("--url", help="Base URL of a running system (all four services, e.g. behind a proxy).")
@click.option("--service-url", "service_urls", multiple=True, metavar="SERVICE=URL", help="One service elsewhere.")
@click.option("--campaign", "campaign_code", default="chau-thanh-2021", show_default=True, help="Campaign to play.")
@click.option("--units", type=click.IntRange(min=2), help="Play a synthetic campaign of this many units instead.")
@click.option("--seed", type=int, default=2021, show_default=True, help="Decides the figures, returns and votes.")
@click.option("--workers", type=click.IntRange(min=1), default=8, show_default=True, help="Parallel HTTP clients.")
@click.option("--timeout", type=float, default=300.0, show_default=True, help="Longest wait for async work, s.")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), help="Keep the embedded run here.")
@click.pass_context
def simulate_command(
    ctx: click.Context,
    url: str | None,
    service_urls: tuple[str, ...],
    campaign_code: str,
    units: int | None,
    seed: int,
    workers: int,
    timeout: float,
    data_dir: Path | None,
) -> None:
    """Play a campaign as its people would: submit, review, return, propose, appraise, vote, decide."""
    if ctx.invoked_subcommand is not None:
        return
    if url is None and service_urls:
        raise click.UsageError("--service-url needs --url for the other services")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request would drown the progress
    folder = data_dir or Path(tempfile.mkdtemp(prefix="thidua-simulate-"))
    try:
        # A synthetic campaign is written before the system starts: the embedded one loads its campaigns then.
        campaigns_dir = campaigns_folder(folder)
        if units is not None:
            _, campaign = write_synthetic_campaign(units, seed, campaigns_dir)
        else:
            campaign = _known_campaign(campaign_code, campaigns_dir)
        start = datetime.combine(date(campaign.year, 12, 1), time_of_day(7), tzinfo=LOCAL_TZ)
        with _target(url, service_urls, folder, start, timeout) as target:
            report = simulate(target, campaign, seed=seed, progress=click.echo, workers=workers)
    finally:
        if data_dir is None:
            shutil.rmtree(folder, ignore_errors=True)
    for line in describe(report):
        click.echo(line)


@simulate_command.command("campaign")
@click.option("--units", type=click.IntRange(min=2), required=True, help="How many units, split in two tracks.")
@click.option("--seed", type=int, default=2021, show_default=True)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True, help="Folder to write to.")
def write_campaign(units: int, seed: int, out: Path) -> None:
    """Write a synthetic campaign file alone, for a remote system to load from THIDUA_CAMPAIGNS_DIR."""
    path, campaign = write_synthetic_campaign(units, seed, out)
    click.echo(f"{path}: {campaign.code}, {len(campaign.units)} units")


def describe(report: Report) -> list[str]:
    """The end of a run, for people: the awards per track, the total, the units per state, the counts."""
    lines = [f"Kết quả {report.campaign} (hạt giống {report.seed}), quyết định {report.decision_number}:"]
    for track in dict.fromkeys(a.track for a in report.awards):
        lines.append(f"  {track}:")
        lines += [
            f"    {a.unit}\t{'tập thể' if a.kind == 'collective' else 'cá nhân'}\t{a.prize_name}\t"
            f"{format_vnd(a.amount)}\t{a.certificate_number}"
            for a in report.awards
            if a.track == track
        ]
    lines.append(f"Tổng kinh phí: {format_vnd(report.total)} ({report.total_words})")
    states = report.units_per_state()
    lines.append("Đơn vị theo trạng thái hồ sơ tập thể: " + ", ".join(f"{s} {n}" for s, n in sorted(states.items())))
    lines.append(f"Nộp trễ bị từ chối: {report.late.unit} ({report.late.status} {report.late.code})")
    lines.append(
        f"Sự kiện: published {report.published}, consumed {report.consumed}, "
        f"dead-lettered {report.dead_lettered}, audited {report.audited} ({report.audit.get('status')})"
    )
    lines.append(
        f"Thời gian: {report.seconds:.1f} s, {report.requests} requests ({report.conflicts} tried again after 409)"
    )
    return lines


@contextmanager
def _target(
    url: str | None, service_urls: tuple[str, ...], folder: Path, start: datetime, timeout: float
) -> Iterator[Target]:
    """The system to play against: the embedded one on ``folder``, or the one at ``url``."""
    if url is None:
        with embedded_target(folder, start, say=click.echo) as target:
            yield _with_timeout(target, timeout)
        return
    try:
        settings = Settings.from_env()
    except SettingsError as err:
        raise click.UsageError(str(err)) from None
    if settings.clock_file is None:
        raise click.UsageError(
            "a remote run turns the system's days through THIDUA_CLOCK_FILE: set it to the clock file every "
            "process of the system reads (and start them with it), then run again"
        )
    tokens = TokenAuthority(signing_key(settings), FixedClock(start), settings.token_hours)
    yield Target(_urls(url, service_urls), tokens, ClockFile(settings.clock_file), timeout)


def _with_timeout(target: Target, timeout: float) -> Target:
    return Target(target.urls, target.tokens, target.clock, timeout)


def _urls(url: str, service_urls: tuple[str, ...]) -> Mapping[str, str]:
    urls = dict.fromkeys(SERVICES, url)
    for item in service_urls:
        service, _, address = item.partition("=")
        if service not in SERVICES or not address:
            raise click.BadParameter(f"{item!r}: expected SERVICE=URL, SERVICE one of {', '.join(SERVICES)}")
        urls[service] = address
    return urls


def _known_campaign(code: str, campaigns_dir: Path) -> Campaign:
    try:
        campaigns = load_campaigns(campaigns_dir if campaigns_dir.is_dir() else None)
    except CampaignError as err:
        raise click.ClickException(str(err)) from None
    if code not in campaigns:
        raise click.UsageError(f"no campaign {code!r}; known: {', '.join(sorted(campaigns))}")
    return campaigns[code]
