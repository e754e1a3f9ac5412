"""The submit route under production processes: how soon review sees a submission, and how many submits a second
the route takes beside a bare Flask + SQLAlchemy insert served the same way.

    .venv/bin/python -m bench.submit --latency 200 --load 2000

- **submit → visible in review**: intake and review as production runs them (``thidua serve`` and ``thidua
  worker`` each, RabbitMQ, PostgreSQL); one clerk submits a complete dossier, then review's nomination route is
  polled every 2 ms until it answers; one dossier at a time.
- **requests per second**: ``thidua serve intake`` alone (its relay publishes from the API process, as in
  production), and ``bench/bare_app.py`` under gunicorn with the same worker class, workers and threads (its bare
  insert, and the least a submit must do written by hand, as statements and as one), each loaded by a separate
  process of ``--clients`` threads with keep-alive connections, each request submitting a distinct dossier
  prepared beforehand (for the route, complete: created and its four documents uploaded through the routes).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from datetime import time as time_of_day
from pathlib import Path
from urllib.parse import urlsplit

from bench.bare_app import reset_drafts
from bench.consumer import COUNTS, REPORT
from bench.processes import Deployment, deployment, free_port, wait_ready
from bench.rig import latency_summary, load
from services.simulator.client import ApiError, Client
from services.simulator.synthetic import document_files, write_synthetic_campaign
from shared.auth import Principal, TokenAuthority
from shared.campaigns import Campaign
from shared.clock import LOCAL_TZ, FixedClock
from shared.migrations import ensure_database


@dataclass
class Loaded:
    count: int
    seconds: float
    errors: int
    latencies: list[float]

    @property
    def per_second(self) -> float:
        return self.count / self.seconds


@dataclass
class Prepared:
    dossier_id: str
    token: str


def opening(campaign: Campaign) -> datetime:
    return datetime.combine(date(campaign.year, 12, 1), time_of_day(8), tzinfo=LOCAL_TZ)


@dataclass
class Setting:
    """A synthetic campaign with a unit per dossier (the quota is one collective per unit) and the clock in its
    submission window."""

    folder: Path
    campaign: Campaign

    @property
    def env(self) -> dict[str, str]:
        return {"THIDUA_CAMPAIGNS_DIR": str(self.folder), "THIDUA_NOW": opening(self.campaign).isoformat()}


@contextmanager
def campaign_setting(units: int) -> Iterator[Setting]:
    with tempfile.TemporaryDirectory(prefix="bench-submit-") as folder:
        _, campaign = write_synthetic_campaign(max(units, 2), 11, Path(folder))
        yield Setting(Path(folder), campaign)


def prepare(system: Deployment, campaign: Campaign, count: int, clients: int) -> list[Prepared]:
    """``count`` complete collective dossiers, each of its own unit, created and filled through intake's routes."""
    tokens = TokenAuthority(system.env["THIDUA_SECRET_KEY"], FixedClock(opening(campaign)), 12)
    client = Client({"intake": system.url("intake")})

    def one(unit: str) -> Prepared:
        token = tokens.issue(Principal(f"unit_clerk-{unit}", f"Văn thư {unit}", frozenset({"unit_clerk"}), unit))
        body = {
            "campaign": campaign.code,
            "kind": "collective",
            "report": REPORT,
            "self_assessment": COUNTS,
        }
        created, _ = client.call("POST", "/intake/dossiers", token, json_body=body)
        files = document_files(unit, campaign)
        client.call("POST", f"/intake/dossiers/{created['id']}/documents", token, files=files)
        return Prepared(created["id"], token)

    with ThreadPoolExecutor(clients) as pool:
        return list(pool.map(one, [unit.code for unit in campaign.units[:count]]))


def submit_to_review(system: Deployment, campaign: Campaign, dossiers: Sequence[Prepared]) -> list[float]:
    """Seconds from each submit to its nomination answering on review's route, one dossier at a time."""
    tokens = TokenAuthority(system.env["THIDUA_SECRET_KEY"], FixedClock(opening(campaign)), 12)
    auditor = tokens.issue(Principal("auditor-bench", "Kiểm tra viên", frozenset({"auditor"}), None))
    client = Client({"intake": system.url("intake"), "review": system.url("review")})
    seconds = []
    for dossier in dossiers:
        started = time.perf_counter()
        client.call("POST", f"/intake/dossiers/{dossier.dossier_id}/submit", dossier.token)
        while True:
            try:
                client.call("GET", f"/review/nominations/{dossier.dossier_id}", auditor)
                break
            except ApiError as err:
                if err.status != 404:
                    raise
                time.sleep(0.002)
        seconds.append(time.perf_counter() - started)
    return seconds


# -- the load generator, in a process of its own -------------------------------------------------------------------


def load_in_child(url: str, dossiers: Sequence[Prepared], clients: int) -> Loaded:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as work:
        json.dump([[d.dossier_id, d.token] for d in dossiers], work)
    try:
        command = [sys.executable, "-m", "bench.submit", "--child", work.name, "--url", url, "--clients", str(clients)]
        done = subprocess.run(command, capture_output=True, text=True, check=True)
    finally:
        os.unlink(work.name)
    return Loaded(**json.loads(done.stdout))


def child(work: str, url: str, clients: int) -> None:
    """Submit every dossier of ``work`` once, from ``clients`` threads with a keep-alive connection each."""
    items: queue.SimpleQueue[list[str]] = queue.SimpleQueue()
    for item in json.loads(Path(work).read_text()):
        items.put(item)
    base = urlsplit(url)
    latencies: list[float] = []
    errors = [0]
    start = threading.Barrier(clients + 1)

    def run() -> None:
        connection = http.client.HTTPConnection(base.netloc, timeout=60)
        start.wait()
        while True:
            try:
                dossier_id, token = items.get_nowait()
            except queue.Empty:
                return
            began = time.perf_counter()
            connection.request(
                "POST", f"{base.path}/dossiers/{dossier_id}/submit", headers={"Authorization": f"Bearer {token}"}
            )
            response = connection.getresponse()
            response.read()
            latencies.append(time.perf_counter() - began)
            if response.status != 200:
                errors[0] += 1

    threads = [threading.Thread(target=run) for _ in range(clients)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - began
    print(json.dumps({"count": len(latencies), "seconds": seconds, "errors": errors[0], "latencies": latencies}))


# -- the runs --------------------------------------------------------------------------------------------------------


def measure_latency(setting: Setting, count: int, clients: int) -> list[float]:
    with deployment(("intake", "review"), extra_env=setting.env) as system:
        dossiers = prepare(system, setting.campaign, count, clients)
        submit_to_review(system, setting.campaign, dossiers[: min(10, count)])  # warm both processes up
        return submit_to_review(system, setting.campaign, dossiers[min(10, count) :])


@dataclass
class Loads:
    """The submit route and the bare app's routes (``bench/bare_app.py``), under the same load."""

    project: Loaded
    bare: Loaded
    least: Loaded
    least_in_one: Loaded


def measure_load(setting: Setting, count: int, clients: int, api_workers: int) -> Loads:
    with deployment(("intake",), workers=False, api_workers=api_workers, extra_env=setting.env) as system:
        dossiers = prepare(system, setting.campaign, count, clients)
        project = load_in_child(f"{system.url('intake')}/intake", dossiers, clients)
        with bare_app(system, api_workers) as bare:
            ids = [dossier.dossier_id for dossier in dossiers]
            bare_insert = load_in_child(bare.url, dossiers, clients)
            reset_drafts(bare.database, ids)
            least = load_in_child(f"{bare.url}/least", dossiers, clients)
            reset_drafts(bare.database, ids)
            least_in_one = load_in_child(f"{bare.url}/least-in-one", dossiers, clients)
    return Loads(project, bare_insert, least, least_in_one)


class bare_app:
    """``bench/bare_app.py`` under gunicorn at ``url``, its database (``database``) beside the deployment's."""

    def __init__(self, system: Deployment, api_workers: int):
        self.system = system
        self.api_workers = api_workers
        self.database = system.env["THIDUA_DATABASE_URL"].format(service="bare")
        self.url = ""

    def __enter__(self) -> bare_app:
        port = free_port()
        ensure_database(self.database)
        command = [
            str(Path(sys.executable).with_name("gunicorn")),
            "--worker-class", "gthread", "--threads", "4", "--workers", str(self.api_workers),
            "--bind", f"127.0.0.1:{port}", "--access-logfile", "-", "bench.bare_app:create_app()",
        ]  # fmt: skip
        self.system.env["BENCH_BARE_DATABASE_URL"] = self.database
        self.system.start("bare", command)
        self.url = f"http://127.0.0.1:{port}"
        wait_ready(self.url)
        return self

    def __exit__(self, *exc: object) -> None:
        process = self.system.processes.pop("bare")
        process.terminate()
        process.wait(timeout=20)


def report_latency(seconds: list[float]) -> None:
    print(f"submit → visible in review, {len(seconds)} dossiers one at a time: {latency_summary(seconds)} ({load()})")


def report_load(loads: Loads, clients: int, api_workers: int) -> None:
    print(f"submit route under load: {clients} clients, {api_workers} gunicorn worker(s) × 4 threads ({load()})")
    print("| app | requests | errors | req/s | latency |")
    print("|---|---:|---:|---:|---|")
    for name, run in (
        ("thidua intake submit", loads.project),
        ("bare Flask + SQLAlchemy insert", loads.bare),
        ("the least a submit must do, by hand", loads.least),
        ("the same in one SQL statement", loads.least_in_one),
    ):
        print(f"| {name} | {run.count:,} | {run.errors} | {run.per_second:,.0f} | {latency_summary(run.latencies)} |")
    bare = loads.bare.per_second
    print(f"ratio: {loads.project.per_second / bare:.0%} of the bare insert (goal ≥ 80 %)")
    print(
        f"the least a submit must do: {loads.least.per_second / bare:.0%} of the bare insert "
        f"({loads.least_in_one.per_second / bare:.0%} in one statement); "
        f"the route {loads.project.per_second / loads.least.per_second:.0%} of it"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latency", type=int, default=200, help="Dossiers submitted one at a time.")
    parser.add_argument("--load", type=int, default=2000, help="Dossiers submitted under load.")
    parser.add_argument("--clients", type=int, default=8, help="Concurrent clients of the load generator.")
    parser.add_argument("--api-workers", type=int, default=1, help="gunicorn workers (4 threads each).")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.url, args.clients)
        return
    with campaign_setting(max(args.latency + 10, args.load)) as setting:
        if args.latency:
            report_latency(measure_latency(setting, args.latency + 10, args.clients))
        if args.load:
            loads = measure_load(setting, args.load, args.clients, args.api_workers)
            report_load(loads, args.clients, args.api_workers)


if __name__ == "__main__":
    main()
