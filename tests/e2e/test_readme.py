"""The README's walk-throughs, run as they stand against a real ``thidua run``: the README stays true."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.e2e.cluster import answers, free_port, running
from tests.waiting import wait_until

README = Path(__file__).parents[2] / "README.md"
BLOCK = re.compile(r"<!-- walkthrough: (?P<name>[\w-]+) -->\n```sh\n(?P<script>.*?)```\n<!-- end walkthrough -->", re.S)
WALKTHROUGHS = {m["name"]: m["script"] for m in BLOCK.finditer(README.read_text(encoding="utf-8"))}

# What each walk-through must show its reader, beyond finishing without an error; in the README's order.
EXPECTED = {
    "first-look": ['"status":"ok"', '"status":"ready"', '"code":"chau-thanh-2021"', "Hai triệu năm trăm ngàn đồng"],
    "clerk": ["Chưa tải lên: Tờ trình.", "submitted", "'trigger': 'submit'", "'name': 'Nguyễn Văn A'"],
    "reviewer": ["'declared': 720", "'official': 720", "appraised", "'rank': 1", "'name': 'Giải nhất'"],
    "council": ["passed", "approved", "2500000", "Hai triệu năm trăm ngàn đồng"],
}


def test_every_walkthrough_is_checked_in_the_order_a_reader_follows_them() -> None:
    assert list(WALKTHROUGHS) == list(EXPECTED)


def test_the_readme_walkthroughs_run_as_written_one_after_the_other(tmp_path: Path) -> None:
    """A reader follows them in order on one running system: each builds on what the one before did."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("THIDUA_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    args = ["run", "--port", str(port), "--data-dir", str(tmp_path / "data"), "--now", "2021-12-01T08:00"]
    with running(args, env):
        wait_until(lambda: answers(f"http://127.0.0.1:{port}/healthz"), timeout=60, what="thidua run")
        for name, expected_lines in EXPECTED.items():
            script = WALKTHROUGHS[name].replace("127.0.0.1:8000", f"127.0.0.1:{port}")
            result = subprocess.run(
                ["bash", "-euo", "pipefail", "-c", script],
                cwd=tmp_path,
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert result.returncode == 0, f"{name}:\n{result.stdout}{result.stderr}"
            for expected in expected_lines:
                assert expected in result.stdout, f"{name}: {expected!r} not in:\n{result.stdout}"
