"""``thidua simulate`` as an operator runs it: a process on a fresh machine, a synthetic campaign, its end report."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from services.simulator.plan import plan_campaign
from services.simulator.synthetic import write_synthetic_campaign
from shared.money import format_vnd
from tests.simulation_expectations import expected_awards

THIDUA = Path(sys.executable).with_name("thidua")


def test_simulate_40_units_prints_the_awards_the_total_and_the_counts(tmp_path: Path) -> None:
    _, campaign = write_synthetic_campaign(40, 11, tmp_path / "expected")
    expected = expected_awards(plan_campaign(campaign, 11), campaign)

    done = subprocess.run(
        [str(THIDUA), "simulate", "--units", "40", "--seed", "11", "--workers", "4"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
        env={**os.environ, "TMPDIR": str(tmp_path)},  # where its temporary data folder goes
    )

    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert "submit on 01/12" in out and "/s)" in out, "progress while it runs"
    assert f"Tổng kinh phí: {format_vnd(expected.total)} (" in out
    for unit, (prize, _) in expected.collectives.items():
        assert re.search(rf"^\s+{unit}\ttập thể\t{prize}\t", out, re.MULTILINE), unit
    assert "(409 deadline_passed)" in out
    counts = re.search(r"published (\d+), consumed (\d+), dead-lettered (\d+), audited (\d+) \(intact\)", out)
    assert counts, out[-2000:]
    published, consumed, dead, audited = map(int, counts.groups())
    assert published == audited and consumed >= published and dead == 0
    assert not any(tmp_path.glob("thidua-simulate-*")), "the temporary data folder is removed"
