"""`fmstack kb` and `fmstack jobs`: knowledge bases and the background jobs that ingest into them."""

from __future__ import annotations

import typer
from rich.markup import escape
from rich.table import Table

from .common import (
    emit_json,
    err,
    fm,
    out,
)

kb_app = typer.Typer(help="Knowledge bases: create, ingest, sync, search.", no_args_is_help=True)
jobs_app = typer.Typer(help="Background jobs: list, show, cancel, resume.", no_args_is_help=True)


@kb_app.command("create")
def kb_create(
    name: str,
    description: str = "",
    embedding_model: str | None = typer.Option(None, "--embedding-model"),
    strategy: str = typer.Option("recursive", help="recursive, fixed or hierarchical"),
    chunk_size: int = typer.Option(200, help="tokens per chunk"),
    overlap: int = typer.Option(30),
    as_json: bool = typer.Option(False, "--json"),
):
    """Create a knowledge base."""
    kb = fm().knowledge.create(
        name,
        description=description,
        embedding_model=embedding_model,
        chunking={"strategy": strategy, "chunk_size": chunk_size, "overlap": overlap},
    )
    emit_json(kb.model_dump(mode="json")) if as_json else err.print(f"created knowledge base {kb.name} ({kb.id})")


@kb_app.command("list")
def kb_list(as_json: bool = typer.Option(False, "--json")):
    """List knowledge bases."""
    kbs = fm().knowledge.list()
    if as_json:
        return emit_json([k.model_dump(mode="json") for k in kbs])
    table = Table("name", "documents", "chunks", "embedding model", "chunking")
    for k in kbs:
        table.add_row(k.name, str(k.documents), str(k.chunks), k.embedding_model, k.chunking.get("strategy", ""))
    out.print(table)


@kb_app.command("delete")
def kb_delete(name: str):
    """Delete a knowledge base with its documents and chunks."""
    fm().knowledge.delete(name)
    err.print(f"deleted knowledge base {name}")


def _progress_bar(as_json: bool):
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[files]} files"),
        TextColumn("{task.fields[chunks]} chunks · {task.fields[rate]} chunks/s"),
        TimeRemainingColumn(),
        console=err,
        disable=as_json or not err.is_terminal,
    )


def _ingest(name: str, paths: list[str], include: list[str], exclude: list[str], sync: bool, as_json: bool) -> None:
    with _progress_bar(as_json) as bar:
        task = bar.add_task("ingesting", total=None, files="0/0", chunks=0, rate=0)

        def progress(state, result):
            # Progress is by bytes: files differ in size, so the time left follows the bytes left.
            bar.update(
                task,
                completed=state.bytes_done,
                total=max(state.bytes_total, 1),
                files=f"{state.files_done}/{state.files_total}",
                chunks=state.chunks_embedded,
                rate=f"{state.to_dict()['chunks_per_s']:.1f}",
            )
            if result is not None and result.status == "failed" and not as_json:
                err.print(f"[yellow]failed[/] {escape(result.source)}: {escape(result.reason or '')}", highlight=False)

        try:
            report = fm().knowledge.ingest(
                name, paths, include=include or None, exclude=exclude or None, sync=sync, progress=progress
            )
        except KeyboardInterrupt:
            err.print("interrupted: files stored so far are kept; run the same command again to carry on")
            raise
    data = report.to_dict()
    if as_json:
        return emit_json(data)
    rate = data["chunks"] / data["seconds"] if data["seconds"] else 0
    err.print(
        f"added {data['added']}, updated {data['updated']}, unchanged {data['unchanged']}, removed {data['removed']}, "
        f"failed {data['failed']} · {data['chunks']} chunks in {data['seconds']:.1f}s ({rate:.1f} chunks/s)",
        highlight=False,
    )


@kb_app.command("ingest")
def kb_ingest(
    name: str,
    paths: list[str] = typer.Argument(..., help="Files and folders (recursive)."),
    include: list[str] = typer.Option([], "--include", help="Glob of files to take (repeatable)."),
    exclude: list[str] = typer.Option([], "--exclude", help="Glob of files to skip (repeatable)."),
    as_json: bool = typer.Option(False, "--json"),
):
    """Add files and folders; unchanged files are skipped, changed ones re-indexed."""
    _ingest(name, paths, include, exclude, False, as_json)


@kb_app.command("sync")
def kb_sync(
    name: str,
    paths: list[str] = typer.Argument(...),
    include: list[str] = typer.Option([], "--include"),
    exclude: list[str] = typer.Option([], "--exclude"),
    as_json: bool = typer.Option(False, "--json"),
):
    """Like ingest, and also remove documents whose files are gone from the folders."""
    _ingest(name, paths, include, exclude, True, as_json)


@kb_app.command("search")
def kb_search(
    name: str,
    query: str,
    mode: str = typer.Option("hybrid", help="hybrid, dense or bm25"),
    top_k: int = typer.Option(5, "--top-k", "-k"),
    mmr: bool = typer.Option(False, "--mmr", help="Diversify results (maximal marginal relevance)."),
    multi_query: int = typer.Option(0, "--multi-query", help="Also search N rewrites of the query by the LLM."),
    as_json: bool = typer.Option(False, "--json"),
):
    """Search a knowledge base."""
    hits = fm().knowledge.retrieve(name, query, mode=mode, top_k=top_k, mmr=mmr, multi_query=multi_query)
    if as_json:
        return emit_json([h.to_dict() for h in hits])
    for i, h in enumerate(hits, start=1):
        where = h.title + (f" p.{h.page}" if h.page else "") + (f" · {h.heading}" if h.heading else "")
        out.print(f"[bold]{i}.[/] {h.score:.4f}  {escape(where)}", highlight=False)
        out.print("   " + escape(" ".join(h.text.split())[:300]), highlight=False)


@kb_app.command("reindex")
def kb_reindex(name: str, as_json: bool = typer.Option(False, "--json")):
    """Build a knowledge base's search index again from its stored chunks (with PostgreSQL +
    pgvector: move it into the database index now)."""
    res = fm().knowledge.reindex(name)
    emit_json(res) if as_json else err.print(
        f"{res['knowledge_base']}: {res['chunks']} chunks indexed ({res['backend']})"
    )


@kb_app.command("documents")
def kb_documents(name: str, as_json: bool = typer.Option(False, "--json")):
    """List the documents of a knowledge base."""
    docs = fm().knowledge.documents(name)
    if as_json:
        return emit_json([d.model_dump(mode="json") for d in docs])
    table = Table("source", "format", "status", "chunks", "error")
    for d in docs:
        table.add_row(escape(d.source), d.format, d.status, str(d.n_chunks), escape(d.error or ""))
    out.print(table)


@kb_app.command("eval")
def kb_eval(
    name: str,
    questions: str = typer.Argument(
        ...,
        help="JSON lines: question, relevant (file names), answer, lang; with --answers: question, relevant "
        "(empty when nothing answers it), answers (texts a correct answer holds), lang, split.",
    ),
    modes: list[str] = typer.Option(
        [],
        "--mode",
        help="Retrieval modes (bm25, dense, hybrid) or, with --answers, answer modes "
        "(generate, extract, auto) to compare (repeatable; default: all).",
    ),
    answers: bool = typer.Option(False, "--answers", help="Score answers, not retrieval."),
    split: str | None = typer.Option(None, "--split", help="With --answers: only this split (dev, test)."),
    model: str | None = typer.Option(None, "--model", help="With --answers: the chat model."),
    threshold: float | None = typer.Option(None, "--abstain-threshold", min=0, max=1),
    rerank: str | None = typer.Option(
        None, "--rerank", help="Retrieval: also each mode reranked (embedding, a /rerank URL, cross-encoder:/path)."
    ),
    as_json: bool = typer.Option(False, "--json"),
):
    """Quality on a labelled question set. Retrieval: recall@k, MRR and nDCG@10 per mode and
    language. --answers: per answer mode, the share of answerable questions whose answer holds the
    fact, cites the right document, or says "I don't know", and of unanswerable ones that says it,
    each with its 95% interval."""
    if answers:
        return _eval_answers(name, questions, modes, split, model, threshold, as_json)
    from ..knowledge.evaluation import evaluate, load_questions

    results = evaluate(
        fm().knowledge,
        name,
        load_questions(questions),
        modes=tuple(modes or ("bm25", "dense", "hybrid")),
        rerank=rerank,
    )
    if as_json:
        return emit_json({mode: {g: sc.to_dict() for g, sc in groups.items()} for mode, groups in results.items()})
    table = Table("mode", "questions", "recall@1", "recall@5", "recall@10", "MRR", "nDCG@10")
    for group in sorted({g for groups in results.values() for g in groups}, key=lambda g: (g != "all", g)):
        for mode, groups in results.items():
            sc = groups.get(group)
            if sc is None:
                continue
            label = mode if group == "all" else f"{mode} ({group})"
            table.add_row(
                label, str(sc.n), *(f"{sc.recall[k]:.3f}" for k in (1, 5, 10)), f"{sc.mrr:.3f}", f"{sc.ndcg10:.3f}"
            )
    out.print(table)


def _eval_answers(
    name: str, path: str, modes: list[str], split: str | None, model: str | None, threshold: float | None, as_json: bool
) -> None:
    from rich.progress import Progress

    from ..knowledge.evaluation import ANSWER_MODES, evaluate_answers, load_answer_set

    rows = load_answer_set(path, split=split)
    with Progress(console=err, disable=as_json or not err.is_terminal) as bar:
        task = bar.add_task("answering", total=len(rows) * len(modes or ANSWER_MODES))
        results = evaluate_answers(
            fm().turns,
            name,
            rows,
            modes=tuple(modes or ANSWER_MODES),
            model=model,
            abstain_threshold=threshold,
            progress=lambda *_: bar.advance(task),
        )
    if as_json:
        return emit_json({mode: sc.to_dict() for mode, sc in results.items()})
    table = Table(
        "mode",
        "questions",
        "fact",
        "right document cited",
        '"don\'t know" (unanswerable)',
        '"don\'t know" (answerable)',
        "in the question's language",
        "s/question",
    )

    def cell(r: dict) -> str:
        return "-" if r["rate"] is None else f"{r['rate']:.3f} [{r['ci95'][0]:.2f}, {r['ci95'][1]:.2f}]"

    for mode, sc in results.items():
        groups = [("", sc.to_dict())] + [(f" ({lang})", d) for lang, d in sc.to_dict().get("by_lang", {}).items()]
        for suffix, d in groups:
            table.add_row(
                mode + suffix,
                str(d["questions"]),
                cell(d["fact"]),
                cell(d["right_document_cited"]),
                cell(d["dont_know_unanswerable"]),
                cell(d["dont_know_answerable"]),
                cell(d["in_question_language"]),
                f"{d['seconds_per_question']:.1f}",
            )
    out.print(table)


# -- background jobs -------------------------------------------------------------------------------
@jobs_app.command("list")
def jobs_list(kind: str | None = None, as_json: bool = typer.Option(False, "--json")):
    """List recent jobs."""
    jobs = fm().jobs.list(kind=kind)
    if as_json:
        return emit_json([j.model_dump(mode="json") for j in jobs])
    table = Table("id", "kind", "status", "progress", "runs", "process", "created")
    for j in jobs:
        p = j.progress
        done = f"{p.get('files_done', 0)}/{p.get('files_total', 0)} files, {p.get('chunks', 0)} chunks" if p else ""
        table.add_row(
            j.id, j.kind, j.status, done, str(j.attempts), j.owner, j.created_at.strftime("%Y-%m-%d %H:%M:%S")
        )
    out.print(table)


@jobs_app.command("show")
def jobs_show(job_id: str):
    """Show a job as JSON (progress, result, error)."""
    emit_json(fm().jobs.get(job_id).model_dump(mode="json"))


@jobs_app.command("cancel")
def jobs_cancel(job_id: str):
    """Ask a running job to stop (also one run by the server)."""
    job = fm().jobs.cancel(job_id)
    err.print(f"{job.id}: {job.status}")


@jobs_app.command("resume")
def jobs_resume(job_id: str, as_json: bool = typer.Option(False, "--json")):
    """Run an interrupted or cancelled ingestion again here; stored files are skipped."""
    job = fm().resume_job(job_id)
    with _progress_bar(as_json) as bar:
        task = bar.add_task("resuming", total=None, files="0/0", chunks=0, rate=0)
        while not (job := fm().jobs.wait(job.id, timeout=0.5)).finished:
            p = job.progress
            if p:
                bar.update(
                    task,
                    completed=p["percent"],
                    total=100,
                    files=f"{p['files_done']}/{p['files_total']}",
                    chunks=p["chunks_embedded"],
                    rate=p["chunks_per_s"],
                )
    if as_json:
        return emit_json(job.model_dump(mode="json"))
    err.print(f"{job.id}: {job.status}" + (f" ({job.error})" if job.error else ""))
