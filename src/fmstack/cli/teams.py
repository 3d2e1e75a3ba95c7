"""`fmstack workspaces` and `fmstack users`: a team's spaces and people, from the server's shell
(the first admin user is made here). Other commands act in FMSTACK_WORKSPACE (default: default)."""

from __future__ import annotations

import sys

import typer
from rich.table import Table

from ..errors import InvalidInput
from .common import emit_json, err, fm, out

workspaces_app = typer.Typer(
    help="Workspaces: each team's conversations, knowledge bases, agents…", no_args_is_help=True
)
users_app = typer.Typer(help="Users who sign in to the console, and their roles.", no_args_is_help=True)


@workspaces_app.command("list")
def workspaces_list(as_json: bool = typer.Option(False, "--json")):
    """List workspaces."""
    rows = fm().teams.workspaces()
    if as_json:
        return emit_json(rows)
    table = Table("id", "name", "created")
    for w in rows:
        table.add_row(w["id"], w["name"], w["created_at"][:10])
    out.print(table)


@workspaces_app.command("create")
def workspaces_create(name: str):
    """Create a workspace."""
    ws = fm().teams.create_workspace(name)
    err.print(f"workspace {ws['name']} created ({ws['id']})")


@workspaces_app.command("delete")
def workspaces_delete(name: str, yes: bool = typer.Option(False, "--yes", help="Do not ask.")):
    """Delete a workspace and everything in it."""
    if not yes and not typer.confirm(f"delete workspace {name} and everything in it?"):
        raise typer.Exit(1)
    fm().teams.delete_workspace(name)
    err.print(f"workspace {name} deleted")


@users_app.command("list")
def users_list(as_json: bool = typer.Option(False, "--json")):
    """List users."""
    rows = fm().teams.users()
    if as_json:
        return emit_json(rows)
    table = Table("id", "name", "admin", "disabled")
    for u in rows:
        table.add_row(u["id"], u["name"], "yes" if u["is_admin"] else "", "yes" if u["disabled"] else "")
    out.print(table)


@users_app.command("create")
def users_create(
    name: str,
    admin: bool = typer.Option(False, "--admin", help="May manage workspaces and users."),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from stdin."),
):
    """Create a user (the password is asked for, or read from stdin)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    if not password:
        raise InvalidInput("a password is needed", param="password")
    user = fm().teams.create_user(name, password, is_admin=admin)
    err.print(f"user {user['name']} created ({user['id']})")


@users_app.command("add")
def users_add(
    name: str,
    workspace: str = typer.Option(..., "--workspace", "-w", help="Workspace name or id."),
    role: str = typer.Option("member", "--role", help="owner, admin, member or viewer."),
):
    """Give a user a role in a workspace."""
    teams = fm().teams
    teams.set_member(teams.workspace(workspace), name, role)
    err.print(f"{name} is {role} in {workspace}")
