"""`fmstack datasets`, `fmstack tune` and `fmstack aliases`: prepare data, fine-tune a local model,
promote it behind an alias (and roll back)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..store.scope import current_workspace
from .common import emit_json, err, fm, out

datasets_app = typer.Typer(
    help="Datasets for fine-tuning: from files, feedback, evaluations, knowledge bases.", no_args_is_help=True
)
tune_app = typer.Typer(help="Fine-tune a local model (LoRA, on the CPU by default).", no_args_is_help=True)
aliases_app = typer.Typer(
    help="Aliases: point one at a model (promotion), see the history, roll back.", no_args_is_help=True
)


def _report(ds, as_json: bool) -> None:
    if as_json:
        return emit_json(ds.model_dump(mode="json"))
    err.print(
        f"dataset {ds.name}:{ds.version} ({ds.id}): {ds.rows} {ds.kind} examples, {ds.stats.get('tokens', 0)} tokens, "
        f"splits {ds.stats.get('splits')}, {ds.stats.get('dropped', 0)} rows dropped"
    )
    for p in ds.problems[:50]:
        err.print(f"  row {p['row']}: {p['action']}: {p['reason']}")
    if len(ds.problems) > 50:
        err.print(f"  … and {len(ds.problems) - 50} more (--json shows them all)")


_COMMON = {
    "model": typer.Option(None, "--model", "-m", help="count tokens with this model's tokenizer"),
    "max_tokens": typer.Option(None, "--max-tokens", help="drop examples longer than this"),
    "personal_data": typer.Option("mask", "--personal-data", help="mask | drop | keep"),
    "seed": typer.Option(0, "--seed"),
    "validation": typer.Option(0.1, "--validation", help="fraction held out for validation"),
    "test": typer.Option(0.1, "--test", help="fraction held out for testing"),
}


@datasets_app.command("create")
def datasets_create(
    name: str,
    path: Path = typer.Argument(..., exists=True, dir_okay=False, help="JSONL, CSV or a JSON array"),
    kind: str | None = typer.Option(None, "--kind", help="chat | preference | text (default: what most rows are)"),
    model: str | None = _COMMON["model"],
    max_tokens: int | None = _COMMON["max_tokens"],
    personal_data: str = _COMMON["personal_data"],
    seed: int = _COMMON["seed"],
    validation: float = _COMMON["validation"],
    test: float = _COMMON["test"],
    as_json: bool = typer.Option(False, "--json"),
):
    """A new version of dataset NAME from a file; every dropped or masked row is listed with its reason."""
    ds = fm().datasets.from_file(
        name,
        path.read_bytes(),
        path.name,
        kind=kind,
        model=model,
        max_tokens=max_tokens,
        personal_data=personal_data,
        seed=seed,
        validation=validation,
        test=test,
    )
    _report(ds, as_json)


@datasets_app.command("collect")
def datasets_collect(
    name: str,
    source: str = typer.Argument(..., help="feedback | evaluation | kb"),
    of: str | None = typer.Option(None, "--of", help="the evaluation run id, or the knowledge base"),
    kind: str = typer.Option("chat", "--kind", help="feedback: chat (examples) or preference (pairs)"),
    metric: str | None = typer.Option(None, "--metric", help="evaluation: keep results below --below on this"),
    below: float | None = typer.Option(None, "--below"),
    model: str | None = _COMMON["model"],
    personal_data: str = _COMMON["personal_data"],
    seed: int = _COMMON["seed"],
    validation: float = _COMMON["validation"],
    test: float = _COMMON["test"],
    as_json: bool = typer.Option(False, "--json"),
):
    """A new version of dataset NAME from what was collected: rated chat answers, an evaluation
    run's results, or a knowledge base's documents (for continued pre-training)."""
    app = fm()
    common = {"model": model, "personal_data": personal_data, "seed": seed, "validation": validation, "test": test}
    if source == "feedback":
        ds = app.datasets.from_feedback(name, kind, **common)
    elif source == "evaluation" and of:
        ds = app.datasets.from_evaluation(name, of, metric=metric, below=below, **common)
    elif source == "kb" and of:
        ds = app.datasets.from_knowledge_base(name, of, **common)
    else:
        raise typer.BadParameter("SOURCE is feedback, evaluation --of RUN_ID, or kb --of KNOWLEDGE_BASE")
    _report(ds, as_json)


@datasets_app.command("list")
def datasets_list(as_json: bool = typer.Option(False, "--json")):
    found = fm().datasets.list()
    if as_json:
        return emit_json([d.model_dump(mode="json") for d in found])
    table = Table("dataset", "kind", "rows", "tokens", "splits", "created")
    for d in found:
        splits = " ".join(f"{k}={v}" for k, v in (d.stats.get("splits") or {}).items())
        table.add_row(
            f"{d.name}:{d.version}",
            d.kind,
            str(d.rows),
            str(d.stats.get("tokens", "")),
            splits,
            d.created_at.strftime("%Y-%m-%d %H:%M"),
        )
    out.print(table)


@datasets_app.command("show")
def datasets_show(ref: str, examples: int = typer.Option(3, "--examples", "-n", help="examples to print")):
    """A dataset (id, NAME or NAME:VERSION): statistics, problems and a few examples."""
    app = fm()
    ds = app.datasets.get(ref)
    _report(ds, False)
    for e in app.datasets.examples(ds.id)[:examples]:
        out.print(json.dumps(e, ensure_ascii=False))


def _num(x) -> str:
    return f"{x:.3f}" if isinstance(x, float) else str(x)


# -- tuning ----------------------------------------------------------------------------------------
@tune_app.command("start")
def tune_start(
    dataset: str = typer.Argument(..., help="dataset id, NAME or NAME:VERSION"),
    model: str = typer.Option("default", "--model", "-m", help="the local model to tune"),
    method: str = typer.Option("supervised", "--method", help="supervised | dpo | pretraining"),
    suffix: str | None = typer.Option(None, "--suffix"),
    seed: int = typer.Option(0, "--seed"),
    set_: list[str] = typer.Option([], "--set", help="a hyperparameter, NAME=VALUE (epochs=3, lora_rank=8, …)"),
    wait: bool = typer.Option(True, "--wait/--no-wait", help="train here and wait (else `fmstack serve` runs it)"),
    as_json: bool = typer.Option(False, "--json"),
):
    """Fine-tune MODEL on DATASET; prints the new model's name when done."""
    hp = {}
    for item in set_:
        key, sep, value = item.partition("=")
        if not sep:
            raise typer.BadParameter(f"--set {item!r}: expected NAME=VALUE")
        try:
            hp[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            hp[key.strip()] = value
    app = fm()
    job = app.tuning.create(model, dataset, method=method, hyperparameters=hp, suffix=suffix, seed=seed)
    err.print(f"fine-tuning job {job.id}: {job.status}")
    if wait:
        with Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err
        ) as bar:
            task = bar.add_task("loading", total=None)
            while job.status in ("queued", "running"):
                time.sleep(1)
                job = app.tuning.get(job.id)
                p = job.metrics.get("progress") or {}
                if p:
                    bar.update(
                        task,
                        completed=p["step"],
                        total=p["total_steps"],
                        description=f"loss {p['train_loss']:.3f} · {p['tokens_per_second']:.0f} tok/s",
                    )
    if as_json:
        return emit_json(job.model_dump(mode="json"))
    if job.status == "succeeded":
        m = job.metrics
        err.print(
            f"{job.fine_tuned_model}: validation loss {_num(m.get('valid_loss'))} (base {_num(m.get('base_valid_loss'))}), "
            f"{job.trained_tokens} tokens at {m.get('tokens_per_second')} tokens/s"
        )
        out.print(job.fine_tuned_model)
    elif job.status == "failed":
        err.print(f"failed: {(job.error or {}).get('message')}")
        raise typer.Exit(1)


@tune_app.command("list")
def tune_list(as_json: bool = typer.Option(False, "--json")):
    found = fm().tuning.list(limit=100)
    if as_json:
        return emit_json([j.model_dump(mode="json") for j in found])
    table = Table("job", "base", "method", "status", "model", "created")
    for j in found:
        table.add_row(
            j.id, j.base_model, j.method, j.status, j.fine_tuned_model or "", j.created_at.strftime("%Y-%m-%d %H:%M")
        )
    out.print(table)


@tune_app.command("status")
def tune_status(job_id: str):
    """A job as JSON: status, progress, losses, the model it made."""
    emit_json(fm().tuning.get(job_id).model_dump(mode="json"))


@tune_app.command("events")
def tune_events(job_id: str, limit: int = typer.Option(50, "--limit")):
    for e in reversed(fm().tuning.events(job_id, limit=limit)):
        out.print(f"{e.created_at:%H:%M:%S} {e.level:5} {e.message}")


@tune_app.command("cancel")
def tune_cancel(job_id: str):
    job = fm().tuning.cancel(job_id)
    err.print(f"fine-tuning job {job.id}: {job.status}")


@tune_app.command("models")
def tune_models(as_json: bool = typer.Option(False, "--json")):
    """The tuned models and their lineage."""
    found = fm().tuning.tuned()
    if as_json:
        return emit_json([m.model_dump(mode="json") for m in found])
    table = Table("model", "base", "dataset", "method", "valid loss (base)")
    for m in found:
        metrics = m.lineage.get("metrics", {})
        table.add_row(
            m.name,
            m.base_model,
            m.lineage.get("dataset", ""),
            m.lineage.get("method", ""),
            f"{_num(metrics.get('valid_loss'))} ({_num(metrics.get('base_valid_loss'))})",
        )
    out.print(table)


@tune_app.command("delete")
def tune_delete(model: str):
    """Stop serving a tuned model and delete its adapter."""
    fm().tuning.delete_model(model)
    err.print(f"deleted {model}")


# -- aliases ---------------------------------------------------------------------------------------
@aliases_app.command("list")
def aliases_list(as_json: bool = typer.Option(False, "--json")):
    app = fm()
    names = sorted({*app.models.aliases, *app.models.promoted.get(current_workspace(), {})})
    rows = [{"alias": a, "model": app.aliases.current(a)} for a in names]
    if as_json:
        return emit_json(rows)
    table = Table("alias", "model")
    for r in rows:
        table.add_row(r["alias"], r["model"] or "")
    out.print(table)


@aliases_app.command("set")
def aliases_set(alias: str, model: str, note: str = typer.Option("", "--note")):
    """Point ALIAS at MODEL (promotion); applications asking for ALIAS get MODEL from now on."""
    c = fm().aliases.point(alias, model, note=note, actor="cli")
    err.print(f"{alias}: {c.previous} -> {c.target}")


@aliases_app.command("rollback")
def aliases_rollback(alias: str, note: str = typer.Option("", "--note")):
    """Undo ALIAS's last change."""
    app = fm()
    app.aliases.rollback(alias, note=note, actor="cli")
    err.print(f"{alias}: now {app.aliases.current(alias)}")


@aliases_app.command("history")
def aliases_history(alias: str | None = typer.Argument(None), as_json: bool = typer.Option(False, "--json")):
    found = fm().aliases.history(alias)
    if as_json:
        return emit_json([c.model_dump(mode="json") for c in found])
    table = Table("when", "alias", "from", "to", "by", "note")
    for c in found:
        table.add_row(
            c.created_at.strftime("%Y-%m-%d %H:%M"),
            c.alias,
            c.previous or "",
            c.target or "(configured)",
            c.actor or "",
            c.note,
        )
    out.print(table)
