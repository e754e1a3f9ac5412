"""``thidua audit query`` and ``thidua audit verify`` on both stacks, against the audit service's own database."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from services.audit.cli import audit as audit_command
from shared.clock import FixedClock
from tests.conftest import Stack
from tests.integration.test_audit import OTHER_CLERK, REVIEWER, Audit, event, running_audit


@pytest.fixture
def logged(stack: Stack, clock: FixedClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Audit]:
    """A log of a few entries, and the environment a ``thidua`` command would read its settings from."""
    for name, value in {
        "DATA_DIR": str(tmp_path),
        "DATABASE_URL": stack.database_url,
        "BROKER_URL": stack.broker_url,
        "BUS_NAMESPACE": stack.namespace,
        "LOG_LEVEL": "WARNING",
    }.items():
        monkeypatch.setenv(f"THIDUA_{name}", value)
    with running_audit(stack, clock, tmp_path, consume=False) as audit:
        audit.record(
            event("dossier.created", "d-1", {"kind": "collective"}, clock=clock, ago=timedelta(days=1)),
            event("dossier.updated", "d-1", {"changed": ["report.phone"]}, clock=clock),
            event("dossier.created", "d-2", {"kind": "collective"}, clock=clock, actor=OTHER_CLERK, unit="an-hiep"),
            event(
                "dossier.returned",
                "d-1",
                {"dossier_id": "d-1", "reasons": ["Thiếu"]},
                clock=clock,
                actor=REVIEWER,
                version=9,
            ),
        )
        yield audit


def run(*args: str) -> Result:
    return CliRunner().invoke(audit_command, list(args), catch_exceptions=False)


def test_query_prints_a_table_of_what_happened(logged: Audit) -> None:
    result = run("query", "--dossier", "d-1", "--sort", "occurred", "--order", "oldest")

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 3
    assert lines[0].split()[:4] == ["1", "30/11/2021", "09:00", "dossier.created"]
    assert lines[0].endswith("Nguyễn Văn A (văn thư, Hòa Tân) lập hồ sơ đề nghị khen thưởng tập thể")
    assert "trả lại hồ sơ" in lines[2]
    assert "3 entries" in result.stderr


def test_query_filters_and_prints_json_lines(logged: Audit) -> None:
    result = run("query", "--unit", "an-hiep", "--format", "json")
    [line] = result.stdout.splitlines()
    entry = json.loads(line)
    assert (entry["seq"], entry["actor"]["name"], entry["subject"]) == (3, "Lê Thị Bình", "d-2")

    several = run("query", "--type", "dossier.created", "--type", "dossier.updated", "--format", "json", "--limit", "2")
    assert [json.loads(line)["seq"] for line in several.stdout.splitlines()] == [3, 2]


def test_query_exports_csv_with_every_matching_entry(logged: Audit) -> None:
    result = run("query", "--format", "csv", "--order", "oldest")

    assert result.stdout.startswith("\ufeffseq,event_id,")
    rows = list(csv.DictReader(io.StringIO(result.stdout.lstrip("\ufeff"))))
    assert [int(r["seq"]) for r in rows] == [1, 2, 3, 4]
    assert rows[2]["actor_name"] == "Lê Thị Bình"


def test_query_refuses_a_bad_date_naming_the_option(logged: Audit) -> None:
    result = CliRunner().invoke(audit_command, ["query", "--occurred-from", "hôm qua"])

    assert result.exit_code == 2
    assert "--occurred-from" in result.output and "Thời điểm không hợp lệ" in result.output


def test_verify_exits_0_when_intact_and_1_at_the_broken_entry(logged: Audit) -> None:
    intact = run("verify")
    assert intact.exit_code == 0
    head = logged.rows()[-1].hash
    assert intact.stdout.strip() == f"intact: 4 entries, head {head}"
    assert json.loads(run("verify", "--json").stdout) == {"status": "intact", "entries": 4, "head": head}
    assert run("verify", "--seq", "4", "--hash", head).exit_code == 0

    logged.tamper("UPDATE entries SET subject = 'd-9' WHERE seq = 2")
    broken = run("verify")

    assert broken.exit_code == 1
    assert broken.stdout.startswith(
        f"broken at seq 2 (event {logged.rows()[1].event_id}): hash does not match its content"
    )
    assert "1 entries intact before it" in broken.stdout
    assert json.loads(run("verify", "--json").stdout)["seq"] == 2


def test_verify_wants_seq_and_hash_together(logged: Audit) -> None:
    result = CliRunner().invoke(audit_command, ["verify", "--seq", "3"])
    assert result.exit_code == 2
    assert "--seq and --hash go together" in result.output
