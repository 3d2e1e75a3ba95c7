"""`fmstack keys`: API keys for the server."""

from __future__ import annotations

import typer
from rich.table import Table

from .common import (
    emit_json,
    err,
    fm,
    out,
)

keys_app = typer.Typer(help="Manage API keys for the server.", no_args_is_help=True)


@keys_app.command("create")
def keys_create(
    name: str,
    guardrail: str | None = typer.Option(
        None, "--guardrail", help="Apply this guardrail to every request made with the key."
    ),
    as_json: bool = typer.Option(False, "--json"),
):
    """Create an API key; it is shown once."""
    if guardrail:
        fm().guardrails.load(guardrail)
    record, key = fm().keys.create(name, guardrail)
    if as_json:
        return emit_json({**record.model_dump(mode="json"), "key": key})
    typer.echo(key)
    err.print(f"[dim]key {record.id} created; store it now, it is not shown again[/]")


@keys_app.command("list")
def keys_list(as_json: bool = typer.Option(False, "--json")):
    """List API keys (never the keys themselves)."""
    keys = fm().keys.list()
    if as_json:
        return emit_json([k.model_dump(mode="json") for k in keys])
    table = Table("id", "name", "prefix", "created", "revoked")
    for k in keys:
        table.add_row(k.id, k.name, k.prefix + "…", k.created_at.strftime("%Y-%m-%d"), "yes" if k.revoked_at else "")
    out.print(table)


@keys_app.command("revoke")
def keys_revoke(key_id: str):
    """Revoke an API key."""
    fm().keys.revoke(key_id)
    err.print(f"revoked {key_id}")


# -- knowledge bases -------------------------------------------------------------------------------
