"""The system as production runs it, for the benchmarks: each service's API under gunicorn (``thidua serve``) and
its worker (``thidua worker``) as separate processes, on RabbitMQ and PostgreSQL databases made for the run.

Everything is torn down at the end: the processes (by their own ids), the run's queues and exchanges, its
databases and its folder.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from kombu import Connection

from bench.rig import AMQP_URL, POSTGRES_URL, delete_queues, namespace, postgres_databases
from services.bootstrap import SERVICE_NAMES, topology_for
from shared.settings import Settings

THIDUA = str(Path(sys.executable).with_name("thidua"))


def free_port() -> int:
    """A port nobody listens on now, so that two runs (or a colleague's) never answer for each other."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Deployment:
    folder: Path
    env: dict[str, str]
    ports: dict[str, int]
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def start(self, name: str, command: Sequence[str]) -> None:
        log = (self.folder / f"{name}.log").open("wb")
        self.processes[name] = subprocess.Popen(command, env=self.env, stdout=log, stderr=subprocess.STDOUT)

    def pids(self) -> dict[str, int]:
        """Every process of the system by name, gunicorn's workers as ``<api>/worker-<n>``."""
        found = {}
        for name, process in self.processes.items():
            found[name] = process.pid
            children = Path(f"/proc/{process.pid}/task/{process.pid}/children")
            if children.exists():
                for n, pid in enumerate(children.read_text().split()):
                    found[f"{name}/worker-{n + 1}"] = int(pid)
        return found

    def thidua(self, *args: str) -> str:
        done = subprocess.run([THIDUA, *args], env=self.env, capture_output=True, text=True, check=True)
        return done.stdout


def wait_ready(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not become ready in {timeout:.0f}s")
        time.sleep(0.2)


@contextmanager
def deployment(
    services: Sequence[str] = SERVICE_NAMES,
    *,
    api_workers: int = 1,
    service_workers: Mapping[str, int] | None = None,
    workers: bool = True,
    extra_env: dict[str, str] | None = None,
    amqp_url: str = AMQP_URL,
    postgres_url: str = POSTGRES_URL,
) -> Iterator[Deployment]:
    """The services as processes, migrated, ready; ``extra_env`` adds settings (a clock file, a campaigns folder).

    Each API runs ``api_workers`` gunicorn workers, or its own number from ``service_workers``: one process uses
    one core at most, so the service that is busiest in a phase may need more than the others.
    """
    space = namespace()
    folder = Path(tempfile.mkdtemp(prefix=f"{space}-"))
    with ExitStack() as stack:
        stack.callback(shutil.rmtree, folder, ignore_errors=True)
        template = stack.enter_context(postgres_databases(space.replace("-", "_"), postgres_url))
        env = {
            **os.environ,
            "THIDUA_BROKER_URL": amqp_url,
            "THIDUA_DATABASE_URL": template,
            "THIDUA_BUS_NAMESPACE": space,
            "THIDUA_SECRET_KEY": secrets.token_hex(32),
            "THIDUA_DATA_DIR": str(folder / "data"),
            "THIDUA_DOCUMENTS_DIR": str(folder / "documents"),
            "THIDUA_WORKERS": str(api_workers),
            "THIDUA_LOG_LEVEL": "WARNING",
            **(extra_env or {}),
        }
        ports = {name: free_port() for name in SERVICE_NAMES}
        system = Deployment(folder, env, ports)
        stack.callback(_remove_topology, env)
        system.thidua("db", "upgrade", *services)
        stack.callback(_stop, system)
        for service in services:
            count = (service_workers or {}).get(service, api_workers)
            system.start(service, [THIDUA, "serve", service, "--port", str(ports[service]), "--workers", str(count)])
            if workers:
                system.start(f"{service}-worker", [THIDUA, "worker", service])
        for service in services:
            wait_ready(system.url(service))
        yield system


def _stop(system: Deployment) -> None:
    for process in system.processes.values():
        process.terminate()
    for process in system.processes.values():
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _remove_topology(env: dict[str, str]) -> None:
    settings = Settings.from_env(env)
    with Connection(settings.broker_url) as connection:
        delete_queues(connection, topology_for(settings))
