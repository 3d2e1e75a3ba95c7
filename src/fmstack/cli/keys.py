"""`fmstack keys`: API keys for the server."""

from __future__ import annotations

from datetime import timedelta

import typer
from pydantic import ValidationError
from rich.table import Table

from ..errors import InvalidInput
from ..keys import KeyLimits
from ..store.tables import utcnow
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
    role: str = typer.Option("owner", "--role", help="owner, admin, member or viewer."),
    expires_days: float | None = typer.Option(None, "--expires-days", help="Expire after this many days."),
    models: str | None = typer.Option(None, "--models", help="Only these models (comma-separated)."),
    rpm: int | None = typer.Option(None, "--rpm", help="Requests per minute."),
    tpm: int | None = typer.Option(None, "--tpm", help="Tokens per minute."),
    budget: float | None = typer.Option(None, "--budget", help="Monthly budget at the models' prices."),
    as_json: bool = typer.Option(False, "--json"),
):
    """Create an API key; it is shown once."""
    if guardrail:
        fm().guardrails.load(guardrail)
    try:
        limits = KeyLimits(
            role=role,  # type: ignore[arg-type]  # validated here
            expires_at=utcnow() + timedelta(days=expires_days) if expires_days else None,
            allowed_models=[m.strip() for m in models.split(",") if m.strip()] if models else None,
            rpm=rpm,
            tpm=tpm,
            monthly_budget=budget,
        )
    except ValidationError as e:
        raise InvalidInput(str(e.errors()[0]["msg"])) from None
    record, key = fm().keys.create(name, guardrail, limits)
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
    table = Table("id", "name", "prefix", "role", "limits", "created", "revoked")
    for k in keys:
        limits = ", ".join(
            f"{label} {v}"
            for label, v in (("rpm", k.rpm), ("tpm", k.tpm), ("budget", k.monthly_budget), ("models", k.allowed_models))
            if v is not None
        )
        if k.expires_at:
            limits = ", ".join(x for x in (limits, f"expires {k.expires_at:%Y-%m-%d}") if x)
        table.add_row(
            k.id,
            k.name,
            k.prefix + "…",
            k.role,
            limits,
            k.created_at.strftime("%Y-%m-%d"),
            "yes" if k.revoked_at else "",
        )
    out.print(table)


@keys_app.command("revoke")
def keys_revoke(key_id: str):
    """Revoke an API key."""
    fm().keys.revoke(key_id)
    err.print(f"revoked {key_id}")


@keys_app.command("rotate-secret")
def keys_rotate_secret():
    """Encrypt stored secrets (endpoint API keys) with a new server key; older keys stay readable."""
    app = fm()
    if app.secrets.path is None:  # FMSTACK_SECRET_KEY=new,old: re-encrypt with its first key
        n = app.endpoints.reseal(app.secrets)
        err.print(f"{n} stored secret(s) re-encrypted with the first key of FMSTACK_SECRET_KEY")
        return
    n = app.endpoints.reseal(app.secrets.rotated())
    err.print(f"new secret key written to {app.secrets.path}; {n} stored secret(s) re-encrypted")


# -- knowledge bases -------------------------------------------------------------------------------
