"""Benchmark of the audit log: append many entries, then time the auditors' queries and the chain's verification.

Not a test: run it by hand, and copy its table into the README.

    .venv/bin/python -m bench.audit                          # SQLite in a temporary folder, 1,000,000 entries
    .venv/bin/python -m bench.audit --entries 100000
    .venv/bin/python -m bench.audit --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_audit

The entries are made from synthetic events and sealed by the handler's own code (``handlers.values_of``, the
catalogue's dump of known payloads, ``domain.seal``), so the chain is exactly what the consumer would write; only
the inserts are batched (``--batch`` rows per transaction) instead of one transaction per event. The database is
made by the service's migrations, triggers included. A PostgreSQL database is created if missing and dropped at
the end (``--keep`` keeps it; a SQLite folder likewise).

Verification runs in a child process so that its peak resident memory is its own; a child that only connects and
reads one page gives the baseline to compare it with.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import sessionmaker

from services.audit import SERVICE, handlers, queries
from services.audit.domain import Entry, Head, seal
from services.audit.models import entries
from services.audit.queries import EntryFilter, Ordering
from shared.campaigns import default_campaign
from shared.catalogue import CATALOGUE
from shared.db import create_engine
from shared.events import Actor, Event
from shared.migrations import ensure_database, upgrade

START = datetime(2021, 11, 1, 1, 0, tzinfo=UTC)
STEP_SECONDS = 5.0  # the mean time between two events: a million of them span about two months
DOSSIERS_PER_CAMPAIGN = 42  # 21 units, a collective and an individual dossier each
ROLES = ("reviewer", "review_head", "home_affairs", "council_secretary", "council_chair")


# -- synthetic events ----------------------------------------------------------------------------------------------


class Events:
    """A reproducible stream of events shaped like a district's campaigns: many dossiers, each with its story."""

    def __init__(self, count: int, seed: int = 2021):
        self.random = random.Random(seed)
        self.units = [unit.code for unit in default_campaign().units]
        self.campaigns = max(1, count // (DOSSIERS_PER_CAMPAIGN * 24))  # ~24 events per dossier
        self.staff = [
            Actor(f"{role}-{n}", f"Cán bộ {role} {n}", role, "van-hoa-thong-tin") for role in ROLES for n in (1, 2)
        ]

    def dossier(self) -> tuple[str, str, str]:
        campaign = self.random.randrange(self.campaigns)
        n = self.random.randrange(DOSSIERS_PER_CAMPAIGN)
        unit = self.units[n % len(self.units)]
        return f"bench-{campaign:04d}", unit, f"dossier-{campaign:04d}-{n:02d}"

    def __call__(self, count: int) -> Iterator[tuple[Event, datetime]]:
        """Events with the instant each reaches the log; one in fifty happened up to a day before it arrives."""
        at = START
        for _ in range(count):
            at += timedelta(seconds=self.random.expovariate(1 / STEP_SECONDS))
            campaign, unit, dossier = self.dossier()
            late = timedelta(hours=self.random.uniform(0, 24)) if self.random.random() < 0.02 else timedelta(0)
            yield self.event(at - late, campaign, unit, dossier), at

    def event(self, at: datetime, campaign: str, unit: str, dossier: str) -> Event:
        clerk = Actor(f"clerk-{unit}", f"Văn thư {unit}", "unit_clerk", unit)
        pick = self.random.random()
        if pick < 0.45:
            fields = self.random.sample(["report.phone", "report.address", "report.achievements", "report.measures"], 2)
            return self._make("dossier.updated", 1, at, clerk, campaign, unit, dossier, {"changed": fields})
        if pick < 0.70:
            kind = self.random.choice(["to_trinh", "bien_ban", "bao_cao_thanh_tich", "danh_sach_tom_tat"])
            document = {
                "kind": kind,
                "version": 1,
                "sha256": f"{self.random.getrandbits(256):064x}",
                "size": self.random.randrange(10_000, 5_000_000),
                "content_type": "application/pdf",
                "filename": f"{kind}.pdf",
                "uploaded_at": at,
                "replaced_version": None,
            }
            uploaded = {"documents": [document]}
            return self._make("dossier.documents_uploaded", 1, at, clerk, campaign, unit, dossier, uploaded)
        if pick < 0.75:
            return self._make("dossier.created", 1, at, clerk, campaign, unit, dossier, {"kind": "collective"})
        staff = self.random.choice(self.staff)
        # Review's and awards' events, in versions the catalogue does not know: kept as they come, dossier named.
        kind = self.random.choice(["dossier.returned", "nomination.step_approved", "award.granted"])
        payload = {"dossier_id": dossier, "note": "Đã kiểm tra số liệu với Bộ phận Một cửa", "round": 1}
        return self._make(kind, 99, at, staff, campaign, unit, dossier, payload, producer="review")

    @staticmethod
    def _make(
        type_: str,
        version: int,
        at: datetime,
        actor: Actor,
        campaign: str,
        unit: str,
        dossier: str,
        payload: dict[str, Any],
        producer: str = "intake",
    ) -> Event:
        return Event(
            type=type_,
            version=version,
            occurred_at=at,
            producer=producer,
            actor=actor,
            subject=dossier,
            payload=payload,
            campaign=campaign,
            unit=unit,
            correlation_id=str(uuid.uuid4()),
        )


# -- appending -----------------------------------------------------------------------------------------------------


def append(engine: Engine, count: int, batch: int) -> float:
    """Seal ``count`` events as the handler does and insert them in batches; return the seconds it took."""
    with engine.connect() as conn:
        last = conn.execute(sa.select(entries.c.seq, entries.c.hash).order_by(entries.c.seq.desc()).limit(1)).first()
    head = Head(last.seq, last.hash) if last else Head()
    started = time.perf_counter()
    rows: list[dict[str, Any]] = []
    for event, arrived in Events(count)(count):
        entry = seal(head, **handlers.values_of(event, CATALOGUE, arrived))
        head = Head(entry.seq, entry.hash)
        rows.append(entry.as_row())
        if len(rows) == batch:
            _insert(engine, rows)
            rows = []
            done = entry.seq
            if done % (batch * 10) == 0:
                rate = done / (time.perf_counter() - started)
                print(f"  … {done:>9,} entries, {rate:,.0f}/s", file=sys.stderr, flush=True)
    if rows:
        _insert(engine, rows)
    return time.perf_counter() - started


def _insert(engine: Engine, rows: list[dict[str, Any]]) -> None:
    with engine.begin() as conn:
        conn.execute(entries.insert(), rows)


# -- reading -------------------------------------------------------------------------------------------------------


def timings(engine: Engine, count: int, repeats: int) -> list[tuple[str, list[float], int]]:
    sessions = sessionmaker(engine)
    pick = random.Random(7)
    stream = Events(count)
    names = queries.names_of({"x": default_campaign()})
    with sessions() as session:
        middle = session.execute(sa.select(entries).where(entries.c.seq == max(1, count // 2))).mappings().one()
    middle_cursor = Ordering("seq", "newest").cursor(Entry(**middle))
    end = START + timedelta(seconds=STEP_SECONDS * count)

    def a_day() -> EntryFilter:
        start = START + (end - START - timedelta(days=1)) * pick.random()
        return EntryFilter(occurred_from=start, occurred_to=start + timedelta(days=1))

    def page(wanted: Callable[[], EntryFilter], ordering: Ordering, cursor: str | None = None) -> Callable[[], int]:
        def run() -> int:
            with sessions() as session:
                return len(queries.page(session, wanted(), ordering, 50, cursor).entries)

        return run

    def timeline() -> int:
        with sessions() as session:
            return len(queries.timeline(session, stream.dossier()[2]))

    def csv_export() -> int:
        rows = queries.every(sessions, EntryFilter(dossier=stream.dossier()[2]), Ordering("occurred", "oldest"))
        return sum(1 for _ in queries.csv_lines(rows, names)) - 1

    newest = Ordering("seq", "newest")
    cases: list[tuple[str, Callable[[], int]]] = [
        ("newest page (50)", page(EntryFilter, newest)),
        ("page from the middle, by cursor", page(EntryFilter, newest, middle_cursor)),
        ("by subject, newest 50", page(lambda: EntryFilter(subject=stream.dossier()[2]), newest)),
        ("by dossier (subject or payload)", page(lambda: EntryFilter(dossier=stream.dossier()[2]), newest)),
        (
            "by unit + type, newest 50",
            page(lambda: EntryFilter(unit=pick.choice(stream.units), types=("dossier.updated",)), newest),
        ),
        ("by actor, newest 50", page(lambda: EntryFilter(actor=f"clerk-{pick.choice(stream.units)}"), newest)),
        ("a day's range, by occurrence", page(a_day, Ordering("occurred", "oldest"))),
        ("a day's range, by arrival (newest)", page(a_day, newest)),
        ("a dossier's timeline (all)", timeline),
        ("CSV export of one dossier", csv_export),
    ]
    results = []
    for name, run in cases:
        run()  # warm the cache once, as a running service would be
        seconds, found = [], 0
        for _ in range(repeats):
            began = time.perf_counter()
            found = run()
            seconds.append(time.perf_counter() - began)
        results.append((name, seconds, found))
    return results


def verify_in_child(url: str, baseline: bool = False) -> dict[str, Any]:
    command = [
        sys.executable,
        "-m",
        "bench.audit",
        "--database-url",
        url,
        "--child",
        "baseline" if baseline else "verify",
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def child(url: str, what: str) -> None:
    engine = create_engine(url)
    sessions = sessionmaker(engine)
    began = time.perf_counter()
    if what == "verify":
        verdict = queries.verify_log(sessions).as_dict()
    else:
        with sessions() as session:
            verdict = {
                "status": "baseline",
                "entries": len(queries.page(session, EntryFilter(), Ordering(), 50).entries),
            }
    seconds = time.perf_counter() - began
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({**verdict, "seconds": seconds, "peak_rss_mb": peak_kb / 1024}))


# -- the whole run -------------------------------------------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=10_000, help="Entries per insert transaction.")
    parser.add_argument("--repeats", type=int, default=50, help="Runs of each query, for p50 and p99.")
    parser.add_argument("--database-url", help="SQLAlchemy URL (default: SQLite in a temporary folder).")
    parser.add_argument("--keep", action="store_true", help="Keep the database afterwards.")
    parser.add_argument("--child", choices=["verify", "baseline"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.database_url, args.child)
        return

    folder = None
    url = args.database_url
    if url is None:
        folder = Path(tempfile.mkdtemp(prefix="bench-audit-"))
        url = f"sqlite:///{folder}/audit.db"
    created = ensure_database(url)
    engine = create_engine(url)
    try:
        upgrade(SERVICE.migrations, engine)
        backend = f"{engine.dialect.name} {'.'.join(map(str, engine.dialect.server_version_info or ()))}"
        print(f"audit benchmark: {args.entries:,} entries on {backend} ({make_url(url).render_as_string()})")
        append_seconds = append(engine, args.entries, args.batch)
        with engine.begin() as conn:  # fresh statistics, as autovacuum (PostgreSQL) or an operator would keep them
            conn.execute(sa.text("ANALYZE entries" if engine.dialect.name == "postgresql" else "ANALYZE"))
        with engine.connect() as conn:
            total = conn.execute(sa.select(sa.func.count()).select_from(entries)).scalar_one()
            if engine.dialect.name == "postgresql":
                size = conn.execute(sa.text("SELECT pg_total_relation_size('entries')")).scalar_one()
            else:
                size = Path(make_url(url).database or "").stat().st_size
        results = timings(engine, total, args.repeats)
        baseline = verify_in_child(url, baseline=True)
        verdict = verify_in_child(url)
        report(args, total, append_seconds, size, results, baseline, verdict)
    finally:
        engine.dispose()
        if not args.keep:
            if folder is not None:
                shutil.rmtree(folder, ignore_errors=True)
            elif created or make_url(url).database == "bench_audit":
                drop_database(url)


def drop_database(url: str) -> None:
    parsed = make_url(url)
    admin = sa.create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
    admin.dispose()


def report(
    args: argparse.Namespace,
    total: int,
    append_seconds: float,
    size: int,
    results: list[tuple[str, list[float], int]],
    baseline: dict[str, Any],
    verdict: dict[str, Any],
) -> None:
    print()
    rate = args.entries / append_seconds
    print(f"| append | {args.entries:,} entries in {append_seconds:,.1f} s | {rate:,.0f} entries/s |")
    print(f"| log | {total:,} entries | {size / 2**20:,.0f} MB on disk (table and indexes) |")
    print()
    print(f"| query ({args.repeats} runs each) | p50 ms | p99 ms | rows |")
    print("|---|---:|---:|---:|")
    for name, seconds, found in results:
        p50, p99 = percentile(seconds, 0.5) * 1000, percentile(seconds, 0.99) * 1000
        print(f"| {name} | {p50:,.1f} | {p99:,.1f} | {found} |")
    print()
    print("| verification | result | seconds | entries/s | peak RSS |")
    print("|---|---|---:|---:|---:|")
    rate = verdict["entries"] / verdict["seconds"] if verdict["seconds"] else 0
    print(
        f"| verify (whole chain) | {verdict['status']}, {verdict['entries']:,} entries | {verdict['seconds']:,.1f} | "
        f"{rate:,.0f} | {verdict['peak_rss_mb']:,.0f} MB |"
    )
    print(f"| baseline (connect, one page) | — | {baseline['seconds']:,.2f} | — | {baseline['peak_rss_mb']:,.0f} MB |")


if __name__ == "__main__":
    main()
