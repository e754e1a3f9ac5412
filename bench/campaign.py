"""A synthetic campaign played end to end against the system as production runs it, timed, with its memory.

    .venv/bin/python -m bench.campaign --units 10000

The four services run as separate processes (``thidua serve`` under gunicorn and ``thidua worker`` each) on
RabbitMQ and PostgreSQL, sharing one clock file that the simulator turns; ``thidua simulate --url …`` plays the
campaign through the HTTP routes in its own process. Every process's peak resident memory (VmHWM from
/proc/<pid>/status) is sampled each second, and printed as it stood at 25, 50, 75 and 100 % of the run: a peak
that stops growing shows memory staying flat. Beside it, the CPU time each process used, and their sum against
what the machine's cores had: where the run's time went.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from datetime import time as time_of_day
from pathlib import Path

from bench.processes import THIDUA, Deployment, deployment
from bench.rig import ProcessSampler, load
from services.bootstrap import SERVICE_NAMES
from services.simulator.synthetic import write_synthetic_campaign
from shared.clock import LOCAL_TZ, write_clock_file

SIMULATOR = "simulator"
# One gunicorn process uses one core at most: the two services the clients keep busiest get one per core.
SERVICE_WORKERS = {"intake": 2, "review": 2}


@dataclass
class CampaignRun:
    units: int
    seconds: float
    peaks: list[tuple[float, dict[str, float]]]
    cpu: dict[str, float]
    tail: list[str]
    load: str


def play(
    units: int, seed: int, api_workers: int, service_workers: Mapping[str, int], clients: int, timeout: float
) -> CampaignRun:
    """Write the campaign and set the clock where every process will read them, start the system, play."""
    with tempfile.TemporaryDirectory(prefix="bench-campaign-") as shared:
        campaigns, clock = Path(shared) / "campaigns", Path(shared) / "clock"
        _, campaign = write_synthetic_campaign(units, seed, campaigns)
        write_clock_file(clock, datetime.combine(date(campaign.year, 12, 1), time_of_day(7), tzinfo=LOCAL_TZ))
        settings = {"THIDUA_CAMPAIGNS_DIR": str(campaigns), "THIDUA_CLOCK_FILE": str(clock)}
        with deployment(api_workers=api_workers, service_workers=service_workers, extra_env=settings) as system:
            return _play(system, units, seed, clients, timeout)


def _play(system: Deployment, units: int, seed: int, clients: int, timeout: float) -> CampaignRun:
    command = [THIDUA, "simulate", "--url", system.url("intake"), "--units", str(units), "--seed", str(seed)]
    for service in ("review", "awards", "audit"):
        command += ["--service-url", f"{service}={system.url(service)}"]
    command += ["--workers", str(clients), "--timeout", str(timeout)]
    started = time.monotonic()
    simulator = subprocess.Popen(command, env=system.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    with ProcessSampler({**system.pids(), SIMULATOR: simulator.pid}) as sampled:
        assert simulator.stdout is not None
        for line in simulator.stdout:
            lines.append(line.rstrip())
            print(f"  [{time.monotonic() - started:7.1f} s] {line.rstrip()}", flush=True)
        simulator.wait()
    seconds = time.monotonic() - started
    if simulator.returncode != 0:
        raise RuntimeError(f"the simulator failed ({simulator.returncode}); the processes' logs: {system.folder}")
    return CampaignRun(units, seconds, sampled.peaks_at(), sampled.cpu, lines[-8:], load())


def report(run: CampaignRun) -> None:
    print(f"campaign of {run.units:,} units end to end: {run.seconds / 60:,.1f} min ({run.load})")
    for line in run.tail:
        print(f"  {line}")
    if not run.peaks:
        return
    names = sorted(run.cpu)  # every process seen, the simulator too (it has ended by the last sample)
    print("| process | " + " | ".join(f"peak at {fraction:.0%}" for fraction, _ in run.peaks) + " | CPU |")
    print("|---|" + "---:|" * (len(run.peaks) + 1))
    for name in names:
        cells = " | ".join(f"{peaks.get(name, 0):,.0f} MB" for _, peaks in run.peaks)
        print(f"| {name} | {cells} | {run.cpu.get(name, 0):,.0f} s |")
    used, available = sum(run.cpu.values()), run.seconds * (os.cpu_count() or 1)
    print(
        f"CPU used by these processes: {used:,.0f} s of the {available:,.0f} s the cores had ({used / available:.0%})"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--units", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--api-workers", type=int, default=1, help="gunicorn workers per service (4 threads each).")
    parser.add_argument(
        "--service-workers",
        type=_service_workers,
        action="append",
        metavar="SERVICE=N",
        help="One service's gunicorn workers instead of --api-workers; repeat for several. Default: "
        + ", ".join(f"{name}={n}" for name, n in SERVICE_WORKERS.items())
        + " (the services the clients keep busiest: preparing the dossiers, the review waves).",
    )
    parser.add_argument("--clients", type=int, default=8, help="The simulator's parallel HTTP clients.")
    parser.add_argument("--timeout", type=float, default=1800.0, help="Longest wait for async work, seconds.")
    args = parser.parse_args(argv)
    service_workers = dict(args.service_workers) if args.service_workers else SERVICE_WORKERS
    report(play(args.units, args.seed, args.api_workers, service_workers, args.clients, args.timeout))


def _service_workers(text: str) -> tuple[str, int]:
    service, _, count = text.partition("=")
    if service not in SERVICE_NAMES or not count.isdigit() or int(count) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: expected SERVICE=N, SERVICE one of {', '.join(SERVICE_NAMES)}")
    return service, int(count)


if __name__ == "__main__":
    main()
