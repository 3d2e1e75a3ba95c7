"""`fmstack prompts`: versioned templates."""

from __future__ import annotations

import typer
from rich.table import Table

from ..errors import InvalidInput
from .common import (
    emit_json,
    err,
    fm,
    out,
    read_config,
)

prompts_app = typer.Typer(
    help="Prompt templates: create or change from YAML (each change a version), diff, render.", no_args_is_help=True
)


@prompts_app.command("save")
def prompts_save(
    path: str = typer.Argument(..., help="YAML: name, and template (text) or messages; description, note."),
    as_json: bool = typer.Option(False, "--json"),
):
    """Create a prompt, or add a version when it exists and its text changed."""
    data = read_config(path)
    unknown = set(data) - {"name", "template", "messages", "description", "note"}
    if unknown:
        raise InvalidInput(f"{path}: unknown keys {sorted(unknown)}")
    prompts, name = fm().prompts, data.get("name") or ""
    existing = next((p for p in prompts.list() if p.name == name), None)
    if existing is None:
        rec = prompts.create(
            name, template=data.get("template"), messages=data.get("messages"), description=data.get("description", "")
        )
    elif existing.template == data.get("template") and existing.messages == data.get("messages"):
        rec = existing
    else:
        rec = prompts.update(
            name,
            template=data.get("template"),
            messages=data.get("messages"),
            description=data.get("description"),
            note=data.get("note", ""),
        )
    if as_json:
        return emit_json({**rec.model_dump(mode="json"), "ref": rec.ref})
    err.print(f"{rec.ref}{' (unchanged)' if rec is existing else ''}")


@prompts_app.command("list")
def prompts_list(as_json: bool = typer.Option(False, "--json")):
    """Prompts at their latest version."""
    rows = fm().prompts.list()
    if as_json:
        return emit_json([{**p.model_dump(mode="json"), "ref": p.ref} for p in rows])
    table = Table("name", "version", "variables", "description")
    for p in rows:
        table.add_row(p.name, str(p.version), ", ".join(p.variables), p.description)
    out.print(table)


@prompts_app.command("show")
def prompts_show(ref: str = typer.Argument(..., help="NAME or NAME@VERSION")):
    """A prompt version as JSON."""
    rec = fm().prompts.get(ref)
    emit_json({**rec.model_dump(mode="json"), "ref": rec.ref})


@prompts_app.command("diff")
def prompts_diff(name: str, a: int, b: int):
    """Unified diff between two versions."""
    typer.echo(fm().prompts.diff(name, a, b), nl=False)


@prompts_app.command("render")
def prompts_render(ref: str, var: list[str] = typer.Option(None, "--var", "-v", help="name=value (repeatable)")):
    """The prompt's messages with the variables filled in."""
    values = {}
    for item in var or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise InvalidInput(f"--var takes name=value, not {item!r}")
        values[key] = value
    emit_json([m.to_openai() for m in fm().prompts.render(ref, values)])


# -- evaluation -------------------------------------------------------------------------------------
