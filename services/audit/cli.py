"""``thidua audit``: query the log and verify its chain from a terminal, without the HTTP API.

The commands read the audit database directly (``THIDUA_DATABASE_URL``), with the same filters, checks and
verification as ``GET /audit/entries`` and ``GET /audit/verify``.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
from marshmallow import ValidationError

from services.audit import queries
from services.audit.domain import Anchor, Entry
from services.audit.queries import EntryFilter, Ordering
from services.audit.schemas import EntryQuery
from services.bootstrap import System
from shared.clock import format_local_datetime
from shared.problems import field_errors

data_dir_option = click.option(
    "--data-dir", type=click.Path(file_okay=False, path_type=Path), help="Data folder (THIDUA_DATA_DIR)."
)


def _system(data_dir: Path | None) -> System:
    from services.cli import load_settings  # the thidua command imports this module: import it only when run

    return System(load_settings(data_dir=data_dir), ["audit"])


@click.group("audit")
def audit() -> None:
    """The audit log: query it, export it, verify its hash chain."""


@audit.command("query")
@click.option("--subject", help="The event's subject (a dossier, proposal or campaign id).")
@click.option("--dossier", help="A dossier: its own events and those of review and awards that name it.")
@click.option("--unit", help="The unit code the subject belongs to, e.g. hoa-tan.")
@click.option("--actor", help="The actor's id.")
@click.option("--role", help="The actor's role, e.g. reviewer.")
@click.option("--type", "types", multiple=True, help="An event type, e.g. dossier.submitted (repeat for more).")
@click.option("--campaign", help="The campaign code, e.g. chau-thanh-2021.")
@click.option("--occurred-from", help="From this day or instant (a bare date is a local day, Asia/Ho_Chi_Minh).")
@click.option("--occurred-to", help="Until this instant, or the end of this local day.")
@click.option("--recorded-from", help="Recorded by the audit log from this day or instant.")
@click.option("--recorded-to", help="Recorded by the audit log until this instant, or the end of this day.")
@click.option("--sort", type=click.Choice(["seq", "occurred"]), default="seq", show_default=True)
@click.option("--order", type=click.Choice(["newest", "oldest"]), default="newest", show_default=True)
@click.option("--limit", type=click.IntRange(min=1), help="At most this many entries (default: 50; csv: all).")
@click.option(
    "--format",
    "output",
    type=click.Choice(["table", "json", "csv"]),
    default="table",
    show_default=True,
    help="json: one entry per line; csv: UTF-8 with a byte-order mark, as the API exports it.",
)
@data_dir_option
def query(sort: str, order: str, limit: int | None, output: str, data_dir: Path | None, **filters: Any) -> None:
    """Entries of the log matching every filter given."""
    wanted = _filter({"sort": sort, "order": order, **filters})
    limit = limit or (None if output == "csv" else 50)
    system = _system(data_dir)
    try:
        runtime = system.runtimes["audit"]
        batch = min(limit or queries.BATCH, queries.BATCH)
        rows = queries.every(runtime.sessions, wanted, Ordering(sort, order), batch=batch)
        found: Iterator[Entry] = itertools.islice(rows, limit)
        names = queries.names_of(runtime.campaigns)
        if output == "csv":
            for line in queries.csv_lines(found, names):
                click.echo(line, nl=False)
        elif output == "json":
            for entry in found:
                click.echo(json.dumps(queries.entry_view(entry, names), ensure_ascii=False, default=str))
        else:
            shown = 0
            for entry in found:
                shown += 1
                when = format_local_datetime(entry.occurred_at)
                click.echo(f"{entry.seq:>8}  {when}  {entry.type:<28} {queries.narrate(entry, names)}")
            click.echo(f"{shown} entries", err=True)
    finally:
        system.stop()


@audit.command("verify")
@click.option("--seq", type=click.IntRange(min=1), help="An entry noted earlier (with --hash): it must still be there.")
@click.option("--hash", "hash_", help="The hash noted for --seq.")
@click.option("--json", "as_json", is_flag=True, help="Print the verdict as JSON.")
@data_dir_option
def verify(seq: int | None, hash_: str | None, as_json: bool, data_dir: Path | None) -> None:
    """Walk the hash chain: exit 0 when intact, 1 at the first broken entry (and say why)."""
    if (seq is None) != (hash_ is None):
        raise click.UsageError("--seq and --hash go together: the seq and hash of an entry noted earlier")
    system = _system(data_dir)
    try:
        verdict = queries.verify_log(system.runtimes["audit"].sessions, Anchor(seq, hash_) if seq and hash_ else None)
    finally:
        system.stop()
    answer = verdict.as_dict()
    if as_json:
        click.echo(json.dumps(answer, ensure_ascii=False))
    elif verdict.intact:
        click.echo(f"intact: {verdict.entries} entries, head {verdict.head}")
    else:
        click.echo(
            f"broken at seq {verdict.seq} (event {verdict.event_id}): {verdict.why}; "
            f"{verdict.entries} entries intact before it\n{answer['detail']}"
        )
    raise SystemExit(0 if verdict.intact else 1)


def _filter(options: dict[str, Any]) -> EntryFilter:
    """The options checked as the API checks its query: bad dates and ranges are refused, naming the option."""
    given = {key: value for key, value in options.items() if value not in (None, ())}
    given["type"] = list(given.pop("types", []))
    try:
        loaded = EntryQuery().load(given)
    except ValidationError as err:
        problems = field_errors(err.normalized_messages())
        raise click.UsageError(
            "; ".join(f"--{field.replace('_', '-')}: {m['message']}" for field, ms in problems.items() for m in ms)
        ) from None
    return EntryFilter.of(loaded)
