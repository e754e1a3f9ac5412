"""The simulator's own system: the embedded services in this process, on a temporary data folder.

``thidua simulate`` with no ``--url`` plays against this, so it works on a fresh machine: SQLite files and the
in-memory bus in the data folder, an HTTP server on a free port, and the replay clock in a file of the folder
that the simulator rewrites to turn the days — the same way it moves a remote system's clock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from services.embedded import EmbeddedSystem
from services.simulator.scenario import SERVICES, ClockFile, Target
from shared.clock import write_clock_file
from shared.settings import Settings


def campaigns_folder(data_dir: Path) -> Path:
    """Where the embedded run looks for extra campaign files (a synthetic campaign is written there)."""
    return data_dir / "campaigns"


@contextmanager
def embedded_target(data_dir: Path, start: datetime, say: Callable[[str], None] = print) -> Iterator[Target]:
    """Run the whole system in this process on ``data_dir`` with its clock at ``start``; stop it on leaving."""
    clock_file = data_dir / "clock"
    campaigns_folder(data_dir).mkdir(parents=True, exist_ok=True)
    write_clock_file(clock_file, start)
    # The environment is not read: this run is always SQLite and the in-memory bus, whatever the shell has set.
    settings = Settings.from_env(
        {},
        data_dir=data_dir,
        clock_file=clock_file,
        campaigns_dir=campaigns_folder(data_dir),
        port=0,
        outbox_poll_seconds=0.2,
        log_level="WARNING",
    )
    system = EmbeddedSystem(settings, say=say)
    address = system.start()
    server = system.server
    assert server is not None  # start() made it
    thread = threading.Thread(target=server.serve_forever, name="simulator-server", daemon=True)
    thread.start()
    try:
        yield Target({service: address for service in SERVICES}, system.system.tokens, ClockFile(clock_file))
    finally:
        system.stop()
        thread.join(timeout=10)
