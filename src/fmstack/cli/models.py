"""`fmstack models`, `embed`, `tokens`: the models and what they count."""

from __future__ import annotations

import typer
from rich.markup import escape
from rich.table import Table

from ..errors import InvalidInput
from .common import (
    emit_json,
    fm,
    out,
)

models_app = typer.Typer(help="List and describe models.", invoke_without_command=True)


@models_app.callback()
def models_list(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Output JSON.")):
    """List models and aliases."""
    if ctx.invoked_subcommand:
        return
    infos = fm().models.list()
    if as_json:
        return emit_json({"models": [i.to_dict() for i in infos], "aliases": fm().models.aliases})
    table = Table("kind", "provider", "ctx/dims", "aliases", "description")
    table.add_column("name", no_wrap=True)
    table.columns.insert(0, table.columns.pop())
    for i in infos:
        size = str(i.context_window or "") if i.kind == "chat" else str(i.dimensions or "")
        table.add_row(i.name, i.kind, i.provider, size, ", ".join(i.aliases), escape(i.description))
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
