"""What every stack benchmark stands on: a broker namespace and PostgreSQL databases of its own, cleaned up after,
the machine's load beside each figure, and a sampler of processes' peak memory and CPU time.

Figures taken on a shared machine are noisy; each benchmark therefore measures the project and the bare limit it
is compared with in the same run, and prints the ratio, which cancels much of the noise.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from kombu import Connection
from sqlalchemy.engine import make_url

from bench.audit import drop_database, percentile
from shared.bus import Topology

AMQP_URL = os.environ.get("THIDUA_BENCH_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//")
POSTGRES_URL = os.environ.get("THIDUA_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")

# The body of a typical event on the wire (a dossier.submitted of intake): the raw limits move messages this size.
SAMPLE_EVENT = json.dumps(
    {
        "id": "00000000-0000-0000-0000-000000000000",
        "type": "dossier.submitted",
        "version": 1,
        "occurred_at": "2021-12-01T01:00:00+00:00",
        "producer": "intake",
        "actor": {"id": "unit_clerk-hoa-tan", "name": "Nguyễn Văn A", "role": "unit_clerk", "unit": "hoa-tan"},
        "subject": "0b9f7c1e-5a55-4c4e-9d5e-1f0d8b1f5a11",
        "campaign": "chau-thanh-2021",
        "unit": "hoa-tan",
        "correlation_id": "4f1c2a9e-0c57-4a8f-9c1e-7a2b3c4d5e6f",
        "causation_id": None,
        "payload": {
            "dossier_id": "0b9f7c1e-5a55-4c4e-9d5e-1f0d8b1f5a11",
            "kind": "collective",
            "round": 1,
            "self_assessment": {
                "online_case_files": 720,
                "total_case_files": 1000,
                "online_procedures": 30,
                "total_procedures": 50,
            },
            "trigger": "submit",
            "from_state": "draft",
            "to_state": "submitted",
            "reason": None,
        },
    },
    ensure_ascii=False,
)


def load() -> str:
    """The machine's load averages, printed beside every figure."""
    one, five, fifteen = os.getloadavg()
    return f"load {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


def namespace() -> str:
    """A bus namespace of this run's own, so a benchmark never touches a deployment's queues."""
    return f"bench-{uuid.uuid4().hex[:8]}"


def delete_queues(connection: Connection, topology: Topology, *extra: str) -> None:
    channel = connection.default_channel
    for service in topology.bindings:
        channel.queue_delete(topology.queue_name(service))
        channel.queue_delete(f"{topology.queue_name(service)}.dead-letters")
    for name in extra:
        channel.queue_delete(name)
    channel.exchange_delete(topology.events.name)
    channel.exchange_delete(topology.dead_letters.name)


@contextmanager
def postgres_databases(prefix: str, admin_url: str = POSTGRES_URL) -> Iterator[str]:
    """A ``{service}`` URL template of databases made for this run, dropped after it."""
    template = make_url(admin_url).set(database=f"{prefix}_SERVICE").render_as_string(hide_password=False)
    try:
        yield template.replace("SERVICE", "{service}")
    finally:
        admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            names = conn.execute(sa.text("SELECT datname FROM pg_database WHERE datname LIKE :p"), {"p": f"{prefix}_%"})
            found = list(names.scalars())
        admin.dispose()
        for name in found:
            drop_database(make_url(admin_url).set(database=name).render_as_string(hide_password=False))


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def latency_summary(seconds: list[float]) -> str:
    return f"p50 {percentile(seconds, 0.5) * 1000:,.1f} ms, p99 {percentile(seconds, 0.99) * 1000:,.1f} ms"


def peak_rss_mb(pid: int) -> float:
    """VmHWM: the most resident memory the process has had so far (it never goes down)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid: int) -> float:
    """The user and system CPU the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()  # after the command's name
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class ProcessSampler:
    """Samples the peak memory and the CPU time of named processes on a thread, so a run can show whether memory
    stays flat and where the machine's cores went."""

    pids: dict[str, int]
    interval: float = 1.0
    samples: list[tuple[float, dict[str, float]]] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=dict)  # seconds, as last seen
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> ProcessSampler:
        self._started = time.monotonic()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._sample()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def _sample(self) -> None:
        now = time.monotonic() - self._started
        values = {}
        for name, pid in self.pids.items():
            try:
                values[name] = peak_rss_mb(pid)
                self.cpu[name] = cpu_seconds(pid)
            except OSError:  # the process ended: its peak stays what it was
                if self.samples and name in self.samples[-1][1]:
                    values[name] = self.samples[-1][1][name]
        self.samples.append((now, values))

    def peaks_at(self, fractions: tuple[float, ...] = (0.25, 0.5, 0.75, 1.0)) -> list[tuple[float, dict[str, float]]]:
        """The peak of each process at these fractions of the run (the last sample at or before each)."""
        if not self.samples:
            return []
        total = self.samples[-1][0]
        picked = []
        for fraction in fractions:
            before = [sample for sample in self.samples if sample[0] <= fraction * total + 1e-9]
            picked.append((fraction, (before or self.samples[:1])[-1][1]))
        return picked


def stamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
