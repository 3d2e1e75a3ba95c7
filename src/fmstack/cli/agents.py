"""`fmstack agents`: definitions, runs with their trace, confirmations, replays, evaluation."""

from __future__ import annotations

import json
import sys
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from ..errors import InvalidInput
from .common import (
    emit_json,
    err,
    fm,
    out,
    read_config,
)

agents_app = typer.Typer(
    help="Agents: create from YAML, list, run (with the trace), confirm, replay, show runs, evaluate.",
    no_args_is_help=True,
)


@agents_app.command("create")
def agents_create(
    path: str = typer.Argument(..., help="YAML: name, instructions, model, tools, knowledge_bases, guardrail, limits."),
    replace: bool = typer.Option(False, "--replace", help="Replace an agent of the same name."),
):
    """Create (or replace) an agent from a YAML file."""
    cfg = fm().agents.create(read_config(path), replace=replace)
    err.print(f"agent {cfg.name} saved")


@agents_app.command("list")
def agents_list(as_json: bool = typer.Option(False, "--json")):
    """List agents."""
    agents = fm().agents.list()
    if as_json:
        return emit_json([a.model_dump(mode="json") for a in agents])
    table = Table("name", "model", "tools", "knowledge bases", "guardrail")
    for a in agents:
        table.add_row(a.name, a.model or "default", str(len(a.tools)), ", ".join(a.knowledge_bases), a.guardrail or "")
    out.print(table)


@agents_app.command("run")
def agents_run(
    name: str,
    task: str = typer.Argument(..., help="The task; '-' reads standard input."),
    session: str | None = typer.Option(None, help="A conversation id to continue, or 'new'."),
    as_json: bool = typer.Option(False, "--json"),
):
    """Run an agent on a task; the trace is printed as it happens (stderr) and stored."""
    if task == "-":
        task = sys.stdin.read()
    _print_run(fm().agents.stream(name, task, session=session), as_json)


@agents_app.command("replay")
def agents_replay(run_id: str, as_json: bool = typer.Option(False, "--json")):
    """Run a stored run's task again with the agent's current definition, tool calls answered from
    the run's recorded results (nothing outside is called); stored as a new run."""
    _print_run(fm().agents.replay(run_id), as_json)


def _print_run(events, as_json: bool) -> None:
    last: Any = None
    for ev in events:
        last = ev
        if hasattr(ev, "kind") and not as_json:
            label = {
                "plan": "plan",
                "model": "model",
                "tool": f"tool {ev.tool}",
                "final": "answer",
                "limit": "stopped",
                "error": "error",
                "confirm": f"waiting for approval of {ev.tool}",
            }[ev.kind]
            detail = f"({ev.arguments}) → " if ev.kind == "tool" else ""
            err.print(
                f"[dim]{ev.index:>2} {label}:[/] {escape(detail + ' '.join(ev.content.split())[:300])}", highlight=False
            )
    if last is None:
        return None
    if as_json:
        return emit_json(last.model_dump(mode="json"))
    typer.echo(last.answer or "")
    hint = f" — fmstack agents confirm {last.id} --approve (or --reject)" if last.status == "waiting" else ""
    session = f" (session {last.session})" if last.session else ""
    err.print(f"[dim]run {last.id}: {last.status}{session}{hint}[/]", highlight=False)


@agents_app.command("confirm")
def agents_confirm(
    run_id: str,
    approve: bool = typer.Option(..., "--approve/--reject", help="Approve or reject the pending call."),
    note: str = typer.Option("", help="Told to the model with a rejection."),
    as_json: bool = typer.Option(False, "--json"),
):
    """Decide on the tool call a waiting run stopped at; the run carries on."""
    _print_run(fm().agents.stream_confirm(run_id, approve, note), as_json)


@agents_app.command("eval")
def agents_eval(
    tasks: str | None = typer.Option(None, "--tasks", help="JSONL of function-calling tasks."),
    tools: str | None = typer.Option(None, "--tools", help="JSON list of the tools the tasks offer."),
    model: str | None = typer.Option(None, "--model", "-m"),
    protocol: str = typer.Option("native", help="native (the provider's tool calling) or text (ReAct)."),
    limit: int | None = typer.Option(None, help="Only the first N tasks."),
    split: str | None = typer.Option(None, help="Only the tasks of this split (a task's 'split': dev, test)."),
    as_json: bool = typer.Option(False, "--json"),
):
    """Tool selection and argument accuracy per category (single, multiple, parallel, irrelevance)."""
    from pathlib import Path

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from ..agents.evaluation import evaluate

    if protocol not in ("native", "text"):
        raise InvalidInput("--protocol must be native or text")
    from .. import evalsets

    data = evalsets.path("agents")
    tasks_path = Path(tasks or data / "tasks.jsonl")
    tools_path = Path(tools) if tools else None if tasks else data / "tools.json"
    for path in (tasks_path, tools_path):
        if path is not None and not path.exists():
            raise InvalidInput(f"{path} not found: give --tasks (and --tools, unless each task has its 'functions')")
    try:
        rows = [json.loads(line) for line in tasks_path.read_text(encoding="utf-8").split("\n") if line.strip()]
        catalogue = json.loads(tools_path.read_text(encoding="utf-8")) if tools_path else []
    except (ValueError, OSError) as e:  # not JSON, not UTF-8, a folder, unreadable
        raise InvalidInput(f"cannot read the evaluation set: {e}") from None
    bad = [
        i + 1
        for i, r in enumerate(rows)
        if not isinstance(r, dict)
        or not isinstance(r.get("expected"), list)
        or not (r.get("functions") or (r.get("tools") and catalogue))
    ]
    if bad:
        raise InvalidInput(f"tasks need 'expected' and 'functions' (or 'tools' with --tools): lines {bad[:5]}")
    rows = [r for r in rows if split is None or r.get("split") == split]
    rows = rows[:limit] if limit else rows
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=as_json,
    ) as bar:
        job = bar.add_task("function calling", total=len(rows))
        report = evaluate(
            fm().models.chat(model), rows, catalogue, protocol=protocol, progress=lambda n: bar.update(job, completed=n)
        )
    if as_json:
        return emit_json(report)
    table = Table(
        "category",
        "tasks",
        "tool selection",
        "arguments",
        "readable replies",
        "s/task",
        title=f"{report['model']} · {protocol} protocol",
    )
    order = ["single", "multiple", "parallel", "irrelevance", "lang:en", "lang:zh", "all"]
    for group in sorted(report["groups"], key=lambda g: order.index(g) if g in order else 99):
        r = report["groups"][group]
        table.add_row(
            group,
            str(r["tasks"]),
            "{:.3f} [{:.2f}, {:.2f}]".format(r["selection"], *r["selection_ci95"]),
            "{:.3f} [{:.2f}, {:.2f}]".format(r["arguments"], *r["arguments_ci95"]),
            f"{r['parsed']:.3f}",
            f"{r['seconds']:.2f}",
        )
    out.print(table)


@agents_app.command("show-run")
def agents_show_run(run_id: str):
    """Print a stored run with its trace as JSON."""
    emit_json(fm().agents.get_run(run_id).model_dump(mode="json"))
