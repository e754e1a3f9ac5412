"""The ``thidua`` command: run the system, its services and workers, issue tokens, migrate, handle dead letters."""

from __future__ import annotations

import hashlib
import json
import logging
import signal
import sys
import unicodedata
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

import click

from services.audit.cli import audit as audit_commands
from services.bootstrap import SERVICE_NAMES, System, service_spec, signing_key, topology_for
from services.portal.cli import users as users_commands
from services.simulator.cli import simulate_command
from shared.auth import ROLES, Principal, TokenAuthority
from shared.bus import connect
from shared.clock import clock_from_setting, format_local_datetime, parse_instant, to_local, write_clock_file
from shared.deadletters import list_dead_letters, replay_dead_letters
from shared.events import Actor
from shared.migrations import revision
from shared.settings import Settings, SettingsError, settings_table

data_dir_option = click.option(
    "--data-dir", type=click.Path(file_okay=False, path_type=Path), help="Data folder (THIDUA_DATA_DIR)."
)
service_argument = click.argument("service", type=click.Choice(SERVICE_NAMES))


def load_settings(**overrides: Any) -> Settings:
    try:
        settings = Settings.from_env(**overrides)
    except SettingsError as err:
        raise click.UsageError(str(err)) from None
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return settings


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """thidua: emulation campaigns and their awards (thi đua, khen thưởng)."""


main.add_command(audit_commands)
main.add_command(simulate_command)
main.add_command(users_commands)


@main.command()
@click.option("--host", help="Address to listen on (THIDUA_HOST).")
@click.option("--port", type=int, help="Port to listen on (THIDUA_PORT, default 8000).")
@data_dir_option
@click.option("--now", help="Start the clock at this ISO 8601 instant, e.g. 2021-12-01T08:00 (THIDUA_NOW).")
def run(host: str | None, port: int | None, data_dir: Path | None, now: str | None) -> None:
    """Run the whole system in one process: SQLite, the in-memory bus, all four services."""
    from services.embedded import run_embedded

    if now:
        _check_instant(now)
    run_embedded(load_settings(host=host, port=port, data_dir=data_dir, now=now))


@main.command()
@click.argument("service", type=click.Choice([*SERVICE_NAMES, "portal"]))
@click.option("--host", help="Address to listen on (THIDUA_HOST).")
@click.option("--port", type=int, help="Port to listen on (THIDUA_PORT).")
@click.option("--workers", type=int, help="gunicorn worker processes (THIDUA_WORKERS).")
def serve(service: str, host: str | None, port: int | None, workers: int | None) -> None:
    """Serve one service's HTTP API, or the portal (calling THIDUA_API_URL), under gunicorn (production mode)."""
    from gunicorn.app.base import BaseApplication

    settings = load_settings(host=host, port=port, workers=workers)
    if service == "portal" and not settings.api_url:
        raise click.UsageError("the portal calls the services at THIDUA_API_URL; set it (e.g. the proxy's URL)")

    def create_app() -> Any:
        system = System(settings, [] if service == "portal" else [service], portal=service == "portal")
        system.start_relays()
        return system.wsgi()

    class Server(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", f"{settings.host}:{settings.port}")
            self.cfg.set("workers", settings.workers)
            self.cfg.set("threads", 4)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("proc_name", f"thidua-{service}")
            self.cfg.set("accesslog", "-")

        def load(self) -> Any:
            return create_app()

    Server().run()


@main.command()
@service_argument
def worker(service: str) -> None:
    """Consume one service's queue and relay its outbox (production mode); stops cleanly on SIGTERM."""
    settings = load_settings()
    system = System(settings, [service])
    system.start_relays()
    consumer = system.runtimes[service].consumer()
    _on_stop_signal(lambda: setattr(consumer, "should_stop", True))
    click.echo(f"{service}: consuming {system.topology.queue_name(service)} on {consumer.connection.as_uri()}")
    try:
        consumer.run_until_stopped()
    finally:
        consumer.close()
        consumer.connection.release()
        system.stop()
    click.echo(f"{service}: stopped after {consumer.applied} events applied, {consumer.dead_lettered} dead-lettered")


@main.command()
@click.option("--role", "roles", multiple=True, required=True, type=click.Choice(ROLES), help="Repeat for more.")
@click.option("--name", required=True, help="The person's full name, as it should appear in the audit log.")
@click.option("--unit", help="The person's unit code (required for unit_clerk), e.g. hoa-tan.")
@click.option("--person", help="A stable id for the person (default: derived from the name and unit).")
@click.option("--hours", type=float, help="Validity in hours (THIDUA_TOKEN_HOURS, default 12).")
@data_dir_option
def token(
    roles: tuple[str, ...],
    name: str,
    unit: str | None,
    person: str | None,
    hours: float | None,
    data_dir: Path | None,
) -> None:
    """Print a bearer token that the running system accepts."""
    settings = load_settings(data_dir=data_dir)
    clock = clock_from_setting(settings.now, settings.clock_file)
    authority = TokenAuthority(signing_key(settings), clock, settings.token_hours)
    person_id = person or _slug(f"{name} {unit or ''}")
    try:
        click.echo(authority.issue(Principal(person_id, name, frozenset(roles), unit), hours))
    except ValueError as err:
        raise click.UsageError(str(err)) from None


@main.command("settings")
def show_settings() -> None:
    """Print every THIDUA_* setting with its default and meaning (the README's table)."""
    click.echo(settings_table())


@main.group()
def clock() -> None:
    """The replay clock of THIDUA_CLOCK_FILE: turn the page to another day for every process at once."""


@clock.command("set")
@click.argument("instant")
def clock_set(instant: str) -> None:
    """Write INSTANT (ISO 8601; local time without an offset) to the clock file; every process follows it."""
    settings = load_settings()
    if settings.clock_file is None:
        raise click.UsageError("THIDUA_CLOCK_FILE is not set: there is no clock file to write")
    try:
        at = parse_instant(instant)
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="INSTANT") from None
    write_clock_file(settings.clock_file, at)
    click.echo(f"{settings.clock_file}: {format_local_datetime(at)} (Asia/Ho_Chi_Minh), {at.isoformat()}")


@clock.command("show")
def clock_show() -> None:
    """Print the time the system's processes see now (the clock file, else THIDUA_NOW, else the real time)."""
    settings = load_settings()
    try:
        now = clock_from_setting(settings.now, settings.clock_file).now()
    except ValueError as err:
        raise click.UsageError(str(err)) from None
    click.echo(f"{format_local_datetime(to_local(now))} (Asia/Ho_Chi_Minh), {now.isoformat()}")


@main.group()
def db() -> None:
    """Databases: migrations of each service."""


@db.command("upgrade")
@click.argument("services", nargs=-1, type=click.Choice([*SERVICE_NAMES, "portal"]))
@data_dir_option
def db_upgrade(services: tuple[str, ...], data_dir: Path | None) -> None:
    """Create (PostgreSQL) and migrate the databases of SERVICES and the portal (default: all)."""
    chosen = services or (*SERVICE_NAMES, "portal")
    system = System(load_settings(data_dir=data_dir), [s for s in chosen if s != "portal"], portal="portal" in chosen)
    try:
        for line in system.upgrade_databases():
            click.echo(line)
    finally:
        system.stop()


@db.command("revision")
@service_argument
@click.option("-m", "--message", required=True, help="What the migration changes.")
def db_revision(service: str, message: str) -> None:
    """Write a new migration of SERVICE from its models (for developers)."""
    system = System(load_settings(), [service])
    try:
        revision(service_spec(service).migrations, system.runtimes[service].engine, message)
    finally:
        system.stop()


@main.group()
def figures() -> None:
    """Official figures of a campaign (Phụ lục 2), from the one-stop shop's export."""


@figures.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--campaign", required=True, help="Campaign code, e.g. chau-thanh-2021.")
@click.option("--name", required=True, help="Your full name, as the audit log should show who imported.")
@data_dir_option
def figures_import(file: Path, campaign: str, name: str, data_dir: Path | None) -> None:
    """Import FILE (CSV or XLSX): refused whole, with every bad row, or kept as the figures in force."""
    from services.review.figures import FiguresRefused, read_figures
    from services.review.handlers import ImportFigures, import_figures

    system = System(load_settings(data_dir=data_dir), ["review"])
    try:
        found = system.campaigns.get(campaign)
        if found is None:
            raise click.UsageError(f"no campaign {campaign!r}; known: {', '.join(sorted(system.campaigns))}")
        data = file.read_bytes()
        try:
            rows = read_figures(data, found, file.name)
        except FiguresRefused as refused:
            for error in refused.errors:
                click.echo(error.message, err=True)
            raise click.ClickException(f"{len(refused.errors)} error(s): nothing was imported") from None
        actor = Actor(id=f"cli:{_slug(name)}", name=name, role="reviewer")
        command = ImportFigures(found.code, rows, hashlib.sha256(data).hexdigest(), file.name, actor)
        result = system.runtimes["review"].execute(import_figures, command)
        click.echo(f"imported {result['units']} units into {found.code} (import {result['import_id']})")
    finally:
        system.stop()


@main.group("dead-letters")
def dead_letters() -> None:
    """Messages that failed every try: list them with their reasons, replay them."""


@dead_letters.command("list")
@click.option("--service", "services", multiple=True, type=click.Choice(SERVICE_NAMES), help="Default: all.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def dead_letters_list(services: tuple[str, ...], as_json: bool) -> None:
    """List dead letters with their reasons; nothing is removed."""
    system = System(load_settings(), [])
    with connect(system.settings.broker_url) as connection:
        total = 0
        for service in services or SERVICE_NAMES:
            for letter in list_dead_letters(connection, system.topology, service):
                total += 1
                if as_json:
                    click.echo(json.dumps(letter.as_dict(), ensure_ascii=False))
                else:
                    click.echo(
                        f"{letter.service}\t{letter.message_id}\t{letter.event_type}\t{letter.attempts} tries\t"
                        f"{letter.dead_lettered_at}\t{letter.reason}"
                    )
    if not as_json:
        click.echo(f"{total} dead letter(s)", err=True)


@dead_letters.command("replay")
@click.option("--service", "services", multiple=True, type=click.Choice(SERVICE_NAMES), help="Default: all.")
@click.option("--id", "message_ids", multiple=True, help="Replay only these message ids (repeat).")
@click.option("--all", "replay_all", is_flag=True, help="Replay every dead letter of the services.")
def dead_letters_replay(services: tuple[str, ...], message_ids: tuple[str, ...], replay_all: bool) -> None:
    """Send dead letters back to the queue they came from."""
    if not message_ids and not replay_all:
        raise click.UsageError("name the messages with --id, or replay everything with --all")
    system = System(load_settings(), [])
    with connect(system.settings.broker_url) as connection:
        for service in services or SERVICE_NAMES:
            replayed = replay_dead_letters(connection, system.topology, service, set(message_ids) or None)
            click.echo(f"{service}: replayed {len(replayed)}")


@main.group()
def deploy() -> None:
    """Files an operator gives the infrastructure, made from the code so they cannot drift from it."""


@deploy.command("rabbitmq-definitions")
@click.option("--namespace", help="Prefix of the exchanges and queues (THIDUA_BUS_NAMESPACE).")
@click.option("--vhost", default="/", show_default=True, help="RabbitMQ virtual host the definitions are for.")
def deploy_rabbitmq_definitions(namespace: str | None, vhost: str) -> None:
    """Print the RabbitMQ definitions (exchanges, quorum queues, bindings, dead-lettering policies) as JSON."""
    from shared.definitions import definitions_json

    settings = load_settings(bus_namespace=namespace)
    click.echo(definitions_json(topology_for(settings), vhost), nl=False)


def _on_stop_signal(stop: Callable[[], None]) -> None:
    def handler(signum: int, frame: FrameType | None) -> None:
        stop()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


def _check_instant(text: str) -> None:
    try:
        parse_instant(text)
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="--now") from None


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text.replace("đ", "d").replace("Đ", "D"))
    ascii_text = ascii_text.encode("ascii", "ignore").decode().lower()
    return "-".join("".join(c if c.isalnum() else " " for c in ascii_text).split())


if __name__ == "__main__":
    sys.exit(main())
