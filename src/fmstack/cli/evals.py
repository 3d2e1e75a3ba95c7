"""`fmstack eval`: evaluation runs, comparisons, reports, ratings."""

from __future__ import annotations

from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from .common import (
    emit_json,
    err,
    fm,
    out,
    read_config,
)

eval_app = typer.Typer(
    help="Evaluations: run a spec, resume, list, compare runs, write an HTML report, rate results.",
    no_args_is_help=True,
)


def _eval_table(runs: list[dict]) -> Table:
    names = sorted({m for r in runs for m, v in r["aggregates"].items() if isinstance(v, dict) and "mean" in v})
    table = Table("metric", *[f"{r['configuration']}\n{r['id']}" for r in runs])
    for m in names:
        cells = []
        for r in runs:
            a = r["aggregates"].get(m)
            cells.append(f"{a['mean']:.3f} [{a['ci95'][0]:.3f}, {a['ci95'][1]:.3f}]" if a else "")
        table.add_row(m, *cells)
    for r in runs:
        c = r["aggregates"].get("classification")
        if c:
            table.add_row(f"{r['configuration']}: accuracy / macro F1", f"{c['accuracy']:.3f} / {c['f1']:.3f}")
    return table


def _eval_progress():
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=err
    )


@eval_app.command("run")
def eval_run(
    path: str = typer.Argument(..., help="YAML: name, dataset, task, metrics, configurations."),
    report: str | None = typer.Option(None, help="Also write the HTML report here."),
    limit: int | None = typer.Option(None, help="Only the first N examples."),
    as_json: bool = typer.Option(False, "--json"),
):
    """Evaluate each configuration on the dataset (stored; `fmstack eval resume` carries on a stopped run)."""
    from pathlib import Path

    from ..evaluation.runner import parse_spec

    data = read_config(path)
    if limit:
        data["limit"] = limit
    spec = parse_spec(data, Path(path).resolve().parent)
    svc = fm().evaluations
    with _eval_progress() as bar:
        tasks: dict[str, Any] = {}

        def progress(cfg: str, done: int, total: int) -> None:
            if cfg not in tasks:
                tasks[cfg] = bar.add_task(cfg, total=total)
            bar.update(tasks[cfg], completed=done)

        ids = svc.run(spec, progress)
    runs = [svc.get(i) for i in ids]
    if report:
        from ..evaluation.report import write_report

        err.print(f"report: {write_report(svc, ids, report)}")
    if as_json:
        return emit_json(runs)
    out.print(_eval_table(runs))


@eval_app.command("resume")
def eval_resume(run_id: str):
    """Carry on a run that stopped; examples already scored are kept."""
    svc = fm().evaluations
    with _eval_progress() as bar:
        task = bar.add_task(run_id, total=svc.get(run_id)["total"])
        svc.resume(run_id, lambda cfg, done, total: bar.update(task, completed=done))
    out.print(_eval_table([svc.get(run_id)]))


@eval_app.command("list")
def eval_list(
    name: str | None = typer.Option(None, help="Only runs of this evaluation."),
    as_json: bool = typer.Option(False, "--json"),
):
    """Evaluation runs, newest first."""
    runs = fm().evaluations.runs(name)
    if as_json:
        return emit_json(runs)
    table = Table("run", "evaluation", "configuration", "status", "examples", "created")
    for r in runs:
        table.add_row(r["id"], r["name"], r["configuration"], r["status"], str(r["total"]), r["created_at"][:19])
    out.print(table)


@eval_app.command("compare")
def eval_compare(
    run_a: str,
    run_b: str,
    as_json: bool = typer.Option(False, "--json"),
    examples: int = typer.Option(5, help="How many differing examples to show."),
):
    """Per metric: A, B, the paired difference with its 95% interval, and B's win/tie/loss rate."""
    cmp = fm().evaluations.compare(run_a, run_b)
    if as_json:
        return emit_json(cmp)
    a, b = cmp["a"]["configuration"], cmp["b"]["configuration"]
    table = Table(
        "metric",
        a,
        b,
        "Δ (95% CI)",
        f"{b} better",
        "tie",
        f"{b} worse",
        title=f"{cmp['examples']} examples scored by both",
    )
    for m, c in cmp["metrics"].items():
        table.add_row(
            m,
            f"{c['a']:.3f}",
            f"{c['b']:.3f}",
            f"{c['delta']:+.3f} [{c['delta_ci95'][0]:+.3f}, {c['delta_ci95'][1]:+.3f}]",
            f"{c['b_wins']:.0%}",
            f"{c['ties']:.0%}",
            f"{c['b_losses']:.0%}",
        )
    out.print(table)
    for ch in cmp["changed"][:examples]:
        out.print(
            f"[bold]#{ch['idx']}[/] {escape(str(ch['input']))}\n  [dim]{escape(a)}:[/] {escape((ch['a'] or '')[:200])}"
            f"\n  [dim]{escape(b)}:[/] {escape((ch['b'] or '')[:200])}",
            highlight=False,
        )


@eval_app.command("report")
def eval_report(
    run_ids: list[str] = typer.Argument(..., help="One or more runs (two: with the paired comparison)."),
    output: str = typer.Option("eval-report.html", "--output", "-o"),
):
    """Write a self-contained HTML report with plots."""
    from ..evaluation.report import write_report

    typer.echo(str(write_report(fm().evaluations, run_ids, output)))


@eval_app.command("rate")
def eval_rate(
    result_id: int,
    rating: int = typer.Argument(..., help="1 (bad) to 5 (excellent)"),
    comment: str = typer.Option("", help="Why"),
):
    """A person's rating of one result (stored beside the automatic scores)."""
    r = fm().evaluations.rate(result_id, rating, comment)
    err.print(f"result {r['id']} rated {r['human_rating']}")


# -- agents -----------------------------------------------------------------------------------------
