"""The system as an operator runs it, for the end-to-end tests: every service as its own processes.

A :class:`Cluster` is the four services, each as ``thidua serve`` (gunicorn) and ``thidua worker``, on RabbitMQ
and PostgreSQL, with databases, a bus namespace and a clock file of its own. Each process writes its output to
a file of the test's folder, shown when a test fails. The tests may SIGKILL and restart one process, and run
one service through a :class:`TcpProxy` in front of PostgreSQL to take its database away.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

import sqlalchemy as sa
from kombu import Queue
from sqlalchemy.engine import make_url

from services.bootstrap import SERVICE_NAMES, service_spec
from shared.auth import Principal, TokenAuthority
from shared.bus import Topology, connect
from shared.clock import FileClock, write_clock_file
from tests.conftest import delete_topology, drop_databases
from tests.tcpproxy import TcpProxy
from tests.waiting import wait_until

THIDUA = [sys.executable, "-m", "services.cli"]
SECRET_KEY = "e2e-" + "k" * 40


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def environment(**settings: str) -> dict[str, str]:
    """This process's environment without any THIDUA_ setting of the developer's, plus ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("THIDUA_")}
    env.update({f"THIDUA_{k.upper()}": v for k, v in settings.items()})
    return env


def thidua(*args: str, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*THIDUA, *args], env=env, capture_output=True, text=True, timeout=120, check=check)


def get(url: str, token: str | None = None, body: dict | None = None) -> tuple[int, bytes]:
    """GET, or POST ``body`` as JSON when one is given."""
    status, raw, _ = _send("POST" if body is not None else "GET", url, token, body, timeout=5)
    return status, raw


def answers(url: str) -> bool:
    try:
        return get(url)[0] == 200
    except OSError:
        return False


@contextmanager
def running(args: list[str], env: dict[str, str], stop: int = signal.SIGINT) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen([*THIDUA, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(stop)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                raise


def stop(process: subprocess.Popen[str], signum: int = signal.SIGINT) -> str:
    process.send_signal(signum)
    output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    return output


@dataclass
class Process:
    """One ``thidua`` process of the cluster; restarting it keeps its name, port and log file (appended)."""

    name: str
    service: str
    args: list[str]
    env: dict[str, str]
    log_path: Path
    port: int | None = None
    popen: subprocess.Popen[bytes] | None = None
    _log: TextIO | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def start(self) -> None:
        self._log = self.log_path.open("a", encoding="utf-8")
        self._log.write(f"=== {' '.join(self.args)} ===\n")
        self._log.flush()
        self.popen = subprocess.Popen([*THIDUA, *self.args], env=self.env, stdout=self._log, stderr=subprocess.STDOUT)

    def terminate(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)

    def wait_stopped(self, timeout: float = 20) -> None:
        """Wait for the process to end after :meth:`terminate`; kill it when it will not."""
        if self.popen is not None:
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=10)
        if self._log is not None:
            self._log.close()
            self._log = None

    def kill(self) -> None:
        """SIGKILL: no clean-up in the process at all, as when the machine loses it."""
        assert self.popen is not None
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(timeout=10)

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def log_tail(self, lines: int = 60) -> str:
        text = self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


class Cluster:
    """The four services as separate processes on a broker and a database server shared with other tests."""

    def __init__(
        self,
        folder: Path,
        broker_url: str,
        postgres_admin_url: str,
        *,
        start_at: datetime,
        workers: int = 1,
        **settings: str,
    ):
        """``settings`` (by THIDUA_ name, lower case) are given to every process, e.g. ``retry_attempts="2"``."""
        self.folder = folder
        self.broker_url = broker_url
        self.admin_url = postgres_admin_url
        self.workers = workers
        self.namespace = f"e2e-{uuid.uuid4().hex[:10]}"
        self.database_prefix = f"e2e_{uuid.uuid4().hex[:10]}"
        self.topology = Topology.of(
            {name: service_spec(name).subscription.routing_keys for name in SERVICE_NAMES}, self.namespace
        )
        self.clock_file = folder / "clock"
        write_clock_file(self.clock_file, start_at)
        self.clock = FileClock(self.clock_file)
        self.tokens = TokenAuthority(SECRET_KEY, self.clock, 12.0)
        self.env = environment(
            broker_url=broker_url,
            database_url=self.database_url("{service}"),
            bus_namespace=self.namespace,
            data_dir=str(folder / "data"),
            secret_key=SECRET_KEY,
            clock_file=str(self.clock_file),
            outbox_poll_seconds="0.5",
            **settings,
        )
        self.processes: dict[str, Process] = {}
        self.proxies: list[TcpProxy] = []
        self.wire: dict[str, list[dict[str, Any]]] = {}  # per tap: every event it received so far, in order
        self._engines: dict[str, sa.Engine] = {}

    # -- life -----------------------------------------------------------------------------------------------

    def start(self) -> Cluster:
        """Migrate fresh databases, then start an API and a worker per service; return when all are ready."""
        thidua("db", "upgrade", env=self.env)
        for service in SERVICE_NAMES:
            self.add(f"{service}-api", service, api=True)
            self.add(f"{service}-worker", service, api=False)
        for process in self.processes.values():
            process.start()
        self.wait_ready()
        return self

    def add(self, name: str, service: str, *, api: bool, env: dict[str, str] | None = None) -> Process:
        """Declare one more process (not started): e.g. a second API process of a service, for races."""
        args = ["serve", service, "--workers", str(self.workers)] if api else ["worker", service]
        port = free_port() if api else None
        if port is not None:
            args += ["--port", str(port)]
        process = Process(name, service, args, env or self.env, self.folder / f"{name}.log", port)
        self.processes[name] = process
        return process

    def launch(self, name: str, service: str, *, api: bool) -> Process:
        """Start one more process of a running cluster (e.g. a second API process of a service) once ready."""
        process = self.add(name, service, api=api)
        process.start()
        self.wait_ready(name)
        return process

    def wait_ready(self, *names: str) -> None:
        """Every API answers ``/readyz`` with 200 and every worker consumes its queue."""
        chosen = [self.processes[n] for n in names] if names else list(self.processes.values())
        for process in chosen:
            if process.port is not None:
                wait_until(lambda p=process: self._ready(p), timeout=90, interval=0.2, what=f"{process.name} ready")
            else:
                wait_until(lambda p=process: self._consuming(p), timeout=90, interval=0.2, what=f"{process.name}")

    def _ready(self, process: Process) -> bool:
        if not process.alive():
            raise AssertionError(f"{process.name} exited:\n{process.log_tail()}")
        return answers(f"{process.url}/readyz")

    def _consuming(self, process: Process) -> bool:
        if not process.alive():
            raise AssertionError(f"{process.name} exited:\n{process.log_tail()}")
        return f"{process.service}: consuming" in process.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        """SIGTERM every process (killed if it will not stop), then remove the queues and drop the databases."""
        for process in self.processes.values():
            process.terminate()
        for process in self.processes.values():
            process.wait_stopped()
        for proxy in self.proxies:
            proxy.close()
        for engine in self._engines.values():
            engine.dispose()
        with suppress(Exception):  # a test that failed with the broker down must still drop its databases
            delete_topology(self.broker_url, self.topology)
            with connect(self.broker_url) as conn:
                for tap in self.wire:
                    conn.default_channel.queue_delete(tap)
        drop_databases(self.admin_url, f"{self.database_prefix}_%")

    def logs(self) -> str:
        return "\n\n".join(f"--- {p.name} ({p.log_path}) ---\n{p.log_tail()}" for p in self.processes.values())

    # -- faults ---------------------------------------------------------------------------------------------

    def kill(self, name: str) -> int:
        """SIGKILL one process; return its pid."""
        process = self.processes[name]
        pid = process.pid
        process.kill()
        return pid

    def restart(self, name: str) -> int:
        """Start a stopped or killed process again, wait until it is ready, and return its new pid."""
        process = self.processes[name]
        process.wait_stopped()
        process.start()
        self.wait_ready(name)
        return process.pid

    def through_proxy(self, service: str) -> TcpProxy:
        """Run ``service``'s API and worker again, reaching their database through a proxy the test can cut."""
        host = make_url(self.admin_url)
        proxy = TcpProxy(host.host or "127.0.0.1", host.port or 5432)
        self.proxies.append(proxy)
        proxy.url = make_url(self.database_url(service)).set(port=proxy.port).render_as_string(hide_password=False)
        env = {**self.env, "THIDUA_DATABASE_URL": proxy.url}
        for process in self.processes.values():
            if process.service == service:
                process.terminate()
                process.wait_stopped()
                process.env = env
                process.start()
        self.wait_ready(*(p.name for p in self.processes.values() if p.service == service))
        return proxy

    # -- looking inside -------------------------------------------------------------------------------------

    def database_url(self, service: str) -> str:
        url = make_url(self.admin_url).set(database=f"{self.database_prefix}_{service}")
        return url.render_as_string(hide_password=False).replace("%7B", "{").replace("%7D", "}")

    def engine(self, service: str) -> sa.Engine:
        """A connection to ``service``'s own database, for the tests to read what the service recorded."""
        if service not in self._engines:
            self._engines[service] = sa.create_engine(self.database_url(service))
        return self._engines[service]

    @contextmanager
    def row_held(self, service: str, table: str, row_id: str) -> Iterator[Callable[[int], None]]:
        """Hold one row of ``service``'s database locked, as a third writer would, until the block ends.

        Readers are not blocked, so requests sent meanwhile all read the same version of the row and then wait
        at their update: the block's function waits until ``n`` of them do. When the lock goes, the first
        update wins and the others meet the version check: the race, every time, not only when lucky.
        """
        database = make_url(self.database_url(service)).database
        with self.engine(service).connect() as holder:
            holder.execute(sa.text(f"SELECT 1 FROM {table} WHERE id = :id FOR NO KEY UPDATE"), {"id": row_id})

            def waiting(n: int) -> None:
                query = sa.text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = :db AND wait_event_type = 'Lock'"
                )

                def blocked() -> bool:
                    with self.engine(service).connect() as probe:  # a new snapshot of the activity each time
                        return int(probe.execute(query, {"db": database}).scalar_one()) >= n

                wait_until(blocked, timeout=30, interval=0.05, what=f"{n} writers waiting for the {table} row")

            yield waiting
            holder.rollback()

    def url(self, service: str) -> str:
        return self.processes[f"{service}-api"].url

    def token(self, role: str, name: str, *, unit: str | None = None, person: str | None = None) -> str:
        return self.tokens.issue(Principal(person or f"{role}-{unit or name}", name, frozenset({role}), unit))

    def tap(self, name: str = "tap") -> str:
        """A queue of the test's own bound to every event of this cluster: what went over the wire."""
        queue = Queue(f"{self.namespace}.{name}", exchange=self.topology.events, routing_key="#", durable=True)
        with connect(self.broker_url) as conn:
            self.topology.declare(conn)
            queue(conn.default_channel).declare()
        self.wire[queue.name] = []
        return queue.name

    def tapped(self, tap: str) -> list[dict[str, Any]]:
        """Every event the tap received so far (its envelope, with ``message_id``), in the order received."""
        with connect(self.broker_url) as conn:
            channel = conn.default_channel
            while (message := channel.basic_get(tap)) is not None:
                event = json.loads(message.body)
                event["message_id"] = message.properties.get("message_id")
                self.wire[tap].append(event)
                channel.basic_ack(message.delivery_tag)
        return self.wire[tap]

    def queue_depths(self) -> dict[str, int]:
        """Messages waiting in each service's queue (ready, not yet delivered to a consumer)."""
        return {service: self.depth(self.topology.queue_name(service)) for service in SERVICE_NAMES}

    def depth(self, queue: str) -> int:
        with connect(self.broker_url) as conn:
            _, count, _ = conn.default_channel.queue_declare(queue, passive=True)
        return int(count)


def request(
    method: str,
    url: str,
    token: str | None = None,
    body: Any = None,
    *,
    file: tuple[str, bytes] | None = None,
    timeout: float = 30,
) -> tuple[int, Any]:
    """One HTTP request with a JSON body, or a multipart ``file`` (name, bytes), or neither; the status and the
    decoded JSON answer (else the bytes)."""
    status, raw, kind = _send(method, url, token, body, file=file, timeout=timeout)
    return status, json.loads(raw) if raw and kind.endswith("json") else raw


def _send(
    method: str, url: str, token: str | None, body: Any, *, file: tuple[str, bytes] | None = None, timeout: float
) -> tuple[int, bytes, str]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if file is not None:
        boundary = uuid.uuid4().hex
        name, content = file
        data = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
                "Content-Type: application/octet-stream\r\n\r\n"
            ).encode()
            + content
            + f"\r\n--{boundary}--\r\n".encode()
        )
        headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
    req = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            return response.status, response.read(), response.headers.get_content_type()
    except urllib.error.HTTPError as err:
        return err.code, err.read(), err.headers.get_content_type()
