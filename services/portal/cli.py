"""``thidua users``: the portal's accounts, managed by an operator from a terminal.

The commands work on the portal's database directly (``THIDUA_DATABASE_URL`` with ``{service}`` = portal),
bringing its schema up to date first, so the first account can be added before the portal ever ran.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from services.bootstrap import System
from services.portal.handlers import AccountRefused, NewAccount, add_account, disable_account, list_accounts
from services.portal.runtime import PortalRuntime
from shared.auth import ROLES

data_dir_option = click.option(
    "--data-dir", type=click.Path(file_okay=False, path_type=Path), help="Data folder (THIDUA_DATA_DIR)."
)


def _system(data_dir: Path | None) -> tuple[System, PortalRuntime]:
    from services.cli import load_settings  # the thidua command imports this module: import it only when run

    system = System(load_settings(data_dir=data_dir), [], portal=True)
    assert system.portal is not None
    system.portal.upgrade_database()
    return system, system.portal


@click.group("users")
def users() -> None:
    """Portal accounts: who may sign in, with which roles, for which unit."""


@users.command("add")
@click.argument("username")
@click.option("--name", required=True, help="Full name, as pages and the audit log show it.")
@click.option("--role", "roles", multiple=True, required=True, type=click.Choice(ROLES), help="Repeat for more.")
@click.option("--unit", help="The unit code (required for unit_clerk), e.g. hoa-tan.")
@click.option(
    "--person", help="Person id in tokens; a council member's is their seat on the roster. Default: USERNAME."
)
@click.option(
    "--no-password", is_flag=True, help="No local password: the person signs in through an identity provider."
)
@data_dir_option
def users_add(
    username: str,
    name: str,
    roles: tuple[str, ...],
    unit: str | None,
    person: str | None,
    no_password: bool,
    data_dir: Path | None,
) -> None:
    """Add an account; the password is asked for twice (or read from standard input), never an argument."""
    password = None if no_password else click.prompt("Mật khẩu", hide_input=True, confirmation_prompt=True)
    system, portal = _system(data_dir)
    try:
        with portal.transaction() as session:
            account = add_account(
                session, NewAccount(username, name, roles, unit, person, password), portal.campaigns, portal.clock.now()
            )
    except AccountRefused as refused:
        for field, message in refused.errors.items():
            click.echo(f"{field}: {message}", err=True)
        raise click.ClickException("the account was not added") from None
    finally:
        system.stop()
    click.echo(f"added {account.username} ({', '.join(account.roles)}{f', {account.unit}' if account.unit else ''})")


@users.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@data_dir_option
def users_list(as_json: bool, data_dir: Path | None) -> None:
    """Every account: username, name, roles, unit, person id, and whether it is disabled or locked."""
    system, portal = _system(data_dir)
    try:
        with portal.transaction() as session:
            accounts = list_accounts(session)
        now = portal.clock.now()
    finally:
        system.stop()
    for account in accounts:
        status = "disabled" if account.disabled else "locked" if account.is_locked(now) else "active"
        row = {
            "username": account.username,
            "name": account.full_name,
            "roles": list(account.roles),
            "unit": account.unit,
            "person": account.person_id,
            "status": status,
        }
        if as_json:
            click.echo(json.dumps(row, ensure_ascii=False))
        else:
            click.echo(
                "\t".join([account.username, account.full_name, ",".join(account.roles), account.unit or "-", status])
            )


@users.command("disable")
@click.argument("username")
@data_dir_option
def users_disable(username: str, data_dir: Path | None) -> None:
    """Disable an account: it can no longer sign in, and every session it has open ends now."""
    system, portal = _system(data_dir)
    try:
        with portal.transaction() as session:
            disable_account(session, username)
    except AccountRefused as refused:
        raise click.ClickException(refused.errors["username"]) from None
    finally:
        system.stop()
    click.echo(f"disabled {username}")
