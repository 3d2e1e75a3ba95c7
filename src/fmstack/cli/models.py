"""`fmstack models`, `embed`, `tokens`: the models and what they count."""

from __future__ import annotations

import typer
from rich.markup import escape
from rich.table import Table

from ..errors import InvalidInput
from .common import (
    emit_json,
    err,
    fm,
    out,
)

models_app = typer.Typer(help="List, describe, pull and remove models.", invoke_without_command=True)


@models_app.callback()
def models_list(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Output JSON.")):
    """List models and aliases."""
    if ctx.invoked_subcommand:
        return
    infos = fm().models.list()
    if as_json:
        return emit_json({"models": [i.to_dict() for i in infos], "aliases": fm().models.aliases})
    table = Table("kind", "provider", "ctx/dims", "size", "origin", "aliases", "description")
    table.add_column("name", no_wrap=True)
    table.columns.insert(0, table.columns.pop())
    for i in infos:
        size = str(i.context_window or "") if i.kind == "chat" else str(i.dimensions or "")
        mb = f"{i.size_bytes / 1e6:.0f} MB" if i.size_bytes else ""
        table.add_row(
            i.name, i.kind, i.provider, size, mb, escape(i.origin or ""), ", ".join(i.aliases), escape(i.description)
        )
    out.print(table)


@models_app.command("describe")
def models_describe(name: str, as_json: bool = typer.Option(False, "--json")):
    """Show one model (or alias)."""
    info = fm().models.info(name).to_dict()
    if as_json:
        return emit_json(info)
    for k, v in info.items():
        out.print(f"[bold]{k}[/]: {v}", highlight=False)


def embed(
    texts: list[str] = typer.Argument(..., help="Texts to embed."),
    model: str | None = typer.Option(None, "--model", "-m"),
    input_type: str = typer.Option("query", help="query or document"),
):
    """Print embeddings as JSON."""
    if input_type not in ("query", "document"):
        raise InvalidInput("--input-type must be query or document")
    vecs = fm().embed(texts, model=model, input_type=input_type)
    emit_json(
        {
            "model": fm().models.resolve(model, "embedding"),
            "dimensions": int(vecs.shape[1]),
            "data": [[round(float(x), 6) for x in v] for v in vecs],
        }
    )


def tokens(text: str, model: str | None = typer.Option(None, "--model", "-m")):
    """Count tokens with the model's own tokenizer."""
    typer.echo(fm().count_tokens(text, model=model))


@models_app.command("pull")
def models_pull(
    source: str = typer.Argument(..., help="<owner>/<repo>/<file>.gguf on the hub ($HF_ENDPOINT), or a URL"),
    name: str | None = typer.Option(None, "--name", help="the model's name (default: from the file name)"),
    sha256: str | None = typer.Option(None, "--sha256", help="the expected SHA-256 (default: the hub's)"),
    revision: str = typer.Option("main", "--revision"),
):
    """Download a GGUF chat model (resuming an interrupted download) and register it."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

    from ..models import pull

    app = fm()
    with Progress(BarColumn(), DownloadColumn(), TransferSpeedColumn(), console=err) as bar:
        task = bar.add_task("pull", total=None)
        entry = pull.pull(
            app.settings.data_dir,
            source,
            name=name,
            sha256=sha256,
            revision=revision,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    err.print(
        f"pulled {entry['name']}: {entry['bytes'] / 1e6:.1f} MB, context window {entry['context_window']}, "
        f'sha256 {entry["sha256"][:12]}…  Use it: fmstack ask --model {entry["name"]} "Hi"'
    )


@models_app.command("rm")
def models_rm(name: str):
    """Remove a pulled model (its file too)."""
    from ..models import pull

    entry = pull.remove(fm().settings.data_dir, name)
    err.print(f"removed {name} ({entry['path']})")
