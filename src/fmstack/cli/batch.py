"""`fmstack batch`: run a JSONL file of requests as a batch, follow it, cancel it, read its results."""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Column, Table

from ..batches import ENDPOINTS
from .common import emit_json, err, fm, out

batch_app = typer.Typer(
    help="Batch inference: submit a JSONL of requests, follow it, read the results.", no_args_is_help=True
)


@batch_app.command("submit")
def batch_submit(
    path: Path = typer.Argument(
        ..., exists=True, dir_okay=False, help="JSONL: one {custom_id, method, url, body} per line"
    ),
    endpoint: str = typer.Option("/v1/chat/completions", "--endpoint", "-e", help=", ".join(ENDPOINTS)),
    wait: bool = typer.Option(
        True, "--wait/--no-wait", help="run it here and wait (else `fmstack serve` runs it when it starts)"
    ),
    as_json: bool = typer.Option(False, "--json"),
):
    """Upload a file of requests and run it as a batch."""
    app = fm()
    f = app.files.create(path.name, "batch", path.read_bytes())
    b = app.batches.create(f.id, endpoint)
    if wait:
        with Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err
        ) as bar:
            task = bar.add_task(b.id, total=None)
            while b.status in ("validating", "in_progress", "finalizing", "cancelling"):
                time.sleep(0.5)
                b = app.batches.get(b.id)
                done = b.counts.get("completed", 0) + b.counts.get("failed", 0)
                bar.update(task, completed=done, total=b.counts.get("total") or None)
    if as_json:
        return emit_json(b.to_openai())
    err.print(
        f"batch {b.id}: {b.status} ({b.counts.get('completed', 0)} answered, {b.counts.get('failed', 0)} failed of {b.counts.get('total', 0)})"
    )
    if b.errors:
        for e in b.errors:
            err.print(f"  line {e['line']}: {e['message']}")
    if b.status == "failed":
        raise typer.Exit(1)


@batch_app.command("status")
def batch_status(batch_id: str):
    """A batch as JSON (status, counts, files)."""
    emit_json(fm().batches.get(batch_id).to_openai())


@batch_app.command("list")
def batch_list(as_json: bool = typer.Option(False, "--json")):
    """Recent batches."""
    found = fm().batches.list(limit=50)
    if as_json:
        return emit_json([b.to_openai() for b in found])
    # the id whole: it is what the other commands take
    table = Table(Column("id", no_wrap=True), "endpoint", "status", "answered / failed / total", "created")
    for b in found:
        c = b.counts
        lines = f"{c.get('completed', 0)} / {c.get('failed', 0)} / {c.get('total', 0)}"
        table.add_row(b.id, b.endpoint.removeprefix("/v1/"), b.status, lines, b.created_at.strftime("%m-%d %H:%M"))
    out.print(table)


@batch_app.command("cancel")
def batch_cancel(batch_id: str):
    """Cancel a running batch (what was answered is kept)."""
    b = fm().batches.cancel(batch_id)
    err.print(f"batch {b.id}: {b.status}")


@batch_app.command("results")
def batch_results(
    batch_id: str,
    errors: bool = typer.Option(False, "--errors", help="the error file instead of the output file"),
    output: Path | None = typer.Option(None, "--output", "-o", help="write here instead of standard output"),
):
    """The output (or error) file of a finished batch, JSONL in input order."""
    app = fm()
    b = app.batches.get(batch_id)
    file_id = b.error_file_id if errors else b.output_file_id
    if file_id is None:
        err.print(f"batch {b.id} ({b.status}) has no {'error' if errors else 'output'} file")
        raise typer.Exit(1)
    data = app.files.content(file_id)
    if output is not None:
        output.write_bytes(data)
        err.print(f"wrote {output}")
    else:
        typer.echo(data.decode("utf-8"), nl=False)
