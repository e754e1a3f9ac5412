"""``thidua users add|list|disable`` on a data folder, and the accounts it makes signing in to the portal."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from services.cli import main
from services.portal.handlers import sign_in
from services.portal.runtime import PortalRuntime
from tests.integration.portal.conftest import Portal


def users(data_dir: Path, *args: str, password: str | None = None) -> tuple[int, str]:
    given = f"{password}\n{password}\n" if password is not None else None
    result = CliRunner().invoke(
        main, ["users", *args, "--data-dir", str(data_dir)], input=given, env={"THIDUA_DATABASE_URL": None}
    )
    return result.exit_code, result.output


def test_an_operator_adds_lists_and_disables_accounts(tmp_path: Path) -> None:
    code, output = users(
        tmp_path, "add", "vanthu.tan-binh", "--name", "Lê Thị Mai", "--role", "unit_clerk", "--unit", "tan-binh",
        password="mat-khau-rat-dai",
    )  # fmt: skip
    assert code == 0, output
    assert "added vanthu.tan-binh (unit_clerk, tan-binh)" in output

    code, output = users(tmp_path, "list", "--json")
    listed = [json.loads(line) for line in output.splitlines()]
    assert listed == [
        {
            "username": "vanthu.tan-binh",
            "name": "Lê Thị Mai",
            "roles": ["unit_clerk"],
            "unit": "tan-binh",
            "person": "vanthu.tan-binh",
            "status": "active",
        }
    ]

    assert users(tmp_path, "disable", "vanthu.tan-binh")[0] == 0
    assert json.loads(users(tmp_path, "list", "--json")[1])["status"] == "disabled"


def test_a_bad_account_is_refused_with_every_reason_and_nothing_is_added(tmp_path: Path) -> None:
    code, output = users(tmp_path, "add", "X", "--name", " ", "--role", "unit_clerk", password="short")

    assert code != 0
    for field in ("username:", "full_name:", "unit:", "password:"):
        assert field in output
    assert users(tmp_path, "list")[1] == ""
    assert users(tmp_path, "disable", "nobody")[0] != 0


def test_an_added_account_signs_in_to_the_running_portal(portal: Portal) -> None:
    data_dir = portal.system.settings.data_dir
    code, output = users(
        data_dir, "add", "kiemtra2", "--name", "Đỗ Văn Nam", "--role", "auditor", password="mat-khau-kiem-tra"
    )
    assert code == 0, output

    visitor = portal.visitor()
    assert visitor.sign_in("kiemtra2", "mat-khau-kiem-tra").status_code == 302
    assert "Đỗ Văn Nam" in visitor.open("/") and "Kiểm tra, giám sát" in visitor.open("/")


def test_a_password_is_stored_as_an_argon2id_hash(portal: Portal) -> None:
    runtime: PortalRuntime | None = portal.system.portal
    assert runtime is not None
    users(
        runtime.settings.data_dir,
        "add",
        "quantri2",
        "--name",
        "Quản trị 2",
        "--role",
        "admin",
        password="mat-khau-quan-tri",
    )
    with runtime.transaction() as session:
        account = sign_in(session, "quantri2", "mat-khau-quan-tri", runtime.lockout, runtime.clock.now())
        assert account.password_hash is not None and account.password_hash.startswith("$argon2id$")
        assert "mat-khau-quan-tri" not in account.password_hash
