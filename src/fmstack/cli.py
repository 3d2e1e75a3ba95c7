"""The `fmstack` command line: thin over the SDK; readable output, or --json for scripts."""

from __future__ import annotations

import json
import sys
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .errors import FmstackError, InvalidInput
from .models.types import Finish, GenerationParams, TextDelta, ToolCallDelta, UsageEvent

app = typer.Typer(
    help="fmstack: foundation models, chat, and an OpenAI-compatible server, offline.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
models_app = typer.Typer(help="List and describe models.", invoke_without_command=True)
conv_app = typer.Typer(help="Manage stored conversations.", no_args_is_help=True)
keys_app = typer.Typer(help="Manage API keys for the server.", no_args_is_help=True)
kb_app = typer.Typer(help="Knowledge bases: create, ingest, sync, search.", no_args_is_help=True)
jobs_app = typer.Typer(help="Background jobs: list, show, cancel, resume.", no_args_is_help=True)
agents_app = typer.Typer(
    help="Agents: create from YAML, list, run (with the trace), confirm, replay, show runs, evaluate.",
    no_args_is_help=True,
)
prompts_app = typer.Typer(
    help="Prompt templates: create or change from YAML (each change a version), diff, render.", no_args_is_help=True
)
eval_app = typer.Typer(
    help="Evaluations: run a spec, resume, list, compare runs, write an HTML report, rate results.",
    no_args_is_help=True,
)
guard_app = typer.Typer(help="Guardrails: create from YAML, list, apply to text, evaluate.", no_args_is_help=True)
app.add_typer(kb_app, name="kb")
app.add_typer(jobs_app, name="jobs")
app.add_typer(guard_app, name="guardrails")
app.add_typer(agents_app, name="agents")
app.add_typer(prompts_app, name="prompts")
app.add_typer(eval_app, name="eval")
app.add_typer(models_app, name="models")
app.add_typer(conv_app, name="conversations")
app.add_typer(keys_app, name="keys")

out = Console()
err = Console(stderr=True)

_fm = None


def fm():
    global _fm
    if _fm is None:
        from .sdk import Fmstack

        _fm = Fmstack()
    return _fm


def emit_json(data) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


# -- sampling options shared by ask and chat -------------------------------------------------------
def params_from(temperature, top_p, top_k, max_tokens, stop, seed, repetition_penalty) -> GenerationParams:
    return GenerationParams(
        temperature=temperature,
        top_p=top_p,
        top_k=top_k,
        max_tokens=max_tokens,
        stop=list(stop) or None,
        seed=seed,
        repetition_penalty=repetition_penalty,
    )


TEMPERATURE = typer.Option(None, "--temperature", "-t", min=0, max=2, help="Sampling temperature.")
TOP_P = typer.Option(None, "--top-p", min=0, max=1)
TOP_K = typer.Option(None, "--top-k", min=0)
MAX_TOKENS = typer.Option(None, "--max-tokens", "-n", min=1, help="Longest answer, in tokens.")
STOP = typer.Option([], "--stop", help="Stop sequence (repeatable).")
SEED = typer.Option(None, "--seed")
REPEAT = typer.Option(None, "--repetition-penalty", min=0)


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    log_level: str = typer.Option("info", help="uvicorn log level."),
):
    """Run the OpenAI-compatible and platform API server."""
    import uvicorn

    from .server.app import create_app

    application = create_app(fm())
    typer.echo(
        f"fmstack serving on http://{host}:{port}  (OpenAI base_url: http://{host}:{port}/v1, "
        f"data: {fm().settings.data_dir})",
        err=True,
    )
    uvicorn.run(application, host=host, port=port, log_level=log_level, timeout_graceful_shutdown=5)


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


def _print_citations(citations) -> None:
    for c in citations:
        where = c.title + (f", page {c.page}" if c.page else "")
        out.print(f"[dim][{c.number}] {escape(where)}{' (inferred)' if c.inferred else ''}[/]", highlight=False)


def _stream_to_terminal(events) -> dict:
    usage, finish, calls = None, None, {}
    for ev in events:
        if isinstance(ev, TextDelta):
            sys.stdout.write(ev.text)
            sys.stdout.flush()
        elif isinstance(ev, ToolCallDelta):
            calls.setdefault(ev.index, {"name": "", "arguments": ""})
            calls[ev.index]["name"] = ev.name or calls[ev.index]["name"]
            calls[ev.index]["arguments"] += ev.arguments
        elif isinstance(ev, UsageEvent):
            usage = ev.usage
        elif isinstance(ev, Finish):
            finish = ev.reason
        elif getattr(ev, "kind", None) == "citations":
            sys.stdout.write("\n")
            _print_citations(ev.citations)
    sys.stdout.write("\n")
    for c in calls.values():
        err.print(f"[dim]tool call: {c['name']}({c['arguments']})[/]", highlight=False)
    return {"usage": usage, "finish": finish}


@app.command()
def ask(
    prompt: str | None = typer.Argument(None, help="The question; '-' or nothing reads standard input."),
    model: str | None = typer.Option(None, "--model", "-m"),
    system: str | None = typer.Option(None, "--system", "-s"),
    kb: str | None = typer.Option(None, "--kb", help="Answer from this knowledge base, with citations."),
    as_json: bool = typer.Option(False, "--json", help="Print the whole result as JSON."),
    temperature: float | None = TEMPERATURE,
    top_p: float | None = TOP_P,
    top_k: int | None = TOP_K,
    max_tokens: int | None = MAX_TOKENS,
    stop: list[str] = STOP,
    seed: int | None = SEED,
    repetition_penalty: float | None = REPEAT,
):
    """Ask one question (no conversation is stored). Piped text is appended to the prompt."""
    piped = None if sys.stdin is None or sys.stdin.isatty() else sys.stdin.read()
    if prompt in (None, "-"):
        prompt = piped or ""
    elif piped and piped.strip():
        prompt = f"{prompt}\n\n{piped}"
    if not prompt.strip():
        raise InvalidInput("nothing to ask: give a prompt or pipe text in")
    params = params_from(temperature, top_p, top_k, max_tokens, stop, seed, repetition_penalty)
    if kb:
        if as_json:
            return emit_json(fm().ask_kb(kb, prompt, model=model, params=params).to_dict())
        _stream_to_terminal(fm().stream_kb_answer(kb, prompt, model=model, params=params))
        return
    if as_json:
        res = fm().generate(prompt, model=model, system=system, params=params)
        return emit_json(
            {
                "model": res.model,
                "text": res.text,
                "finish_reason": res.finish_reason,
                "usage": {"prompt_tokens": res.usage.prompt_tokens, "completion_tokens": res.usage.completion_tokens},
                "tool_calls": [c.to_openai() for c in res.tool_calls],
            }
        )
    _stream_to_terminal(fm().stream(prompt, model=model, system=system, params=params))


CHAT_HELP = "Commands: /new  start a new conversation · /history  show this conversation · /exit  leave"


@app.command()
def chat(
    model: str | None = typer.Option(None, "--model", "-m"),
    conversation: str | None = typer.Option(None, "--conversation", "-c", help="Continue a stored conversation."),
    system: str | None = typer.Option(None, "--system", "-s", help="System prompt for a new conversation."),
    temperature: float | None = TEMPERATURE,
    max_tokens: int | None = MAX_TOKENS,
    summarize: bool = typer.Option(False, "--summarize", help="Summarize turns that no longer fit the context."),
    kb: str | None = typer.Option(None, "--kb", help="Answer from this knowledge base, with citations."),
):
    """Chat interactively; every turn is stored and the whole conversation is remembered."""
    f = fm()
    if model:
        f.models.resolve(model)
    conv = (
        f.conversations.get(conversation, messages=False)
        if conversation
        else f.conversations.create(model=model, system_prompt=system)
    )
    params = GenerationParams(temperature=temperature, max_tokens=max_tokens)
    if kb:
        f.knowledge.settings(kb)  # a clear error now rather than at the first question
    err.print(
        f"[dim]conversation {conv.id} · model {model or conv.model or 'default'}"
        f"{f' · knowledge base {kb}' if kb else ''} · {CHAT_HELP}[/]",
        highlight=False,
    )
    while True:
        try:
            line = input("you> ")
        except (EOFError, KeyboardInterrupt):
            err.print()
            break
        text = line.strip()
        if not text:
            continue
        if text in ("/exit", "/quit"):
            break
        if text == "/new":
            conv = f.conversations.create(model=model, system_prompt=system)
            err.print(f"[dim]new conversation {conv.id}[/]", highlight=False)
            continue
        if text == "/history":
            for m in f.conversations.get(conv.id).messages or []:
                out.print(f"[bold]{m.role}>[/] {m.content}", highlight=False)
            continue
        if text.startswith("/"):
            err.print(f"[yellow]unknown command {text}. {CHAT_HELP}[/]", highlight=False)
            continue
        sys.stdout.write("assistant> ")
        try:
            _stream_to_terminal(
                f.chat.send(conv.id, text, model=model, params=params, summarize=summarize, knowledge_base=kb)
            )
        except KeyboardInterrupt:
            err.print("\n[dim](stopped; the partial answer is kept)[/]")
        except FmstackError as e:
            err.print(f"[red]error:[/] {e.message}", highlight=False)
    err.print(f"[dim]conversation saved: {conv.id}[/]", highlight=False)


# -- conversations ---------------------------------------------------------------------------------
@conv_app.command("list")
def conv_list(
    query: str | None = typer.Option(None, "--search", "-q"),
    limit: int = 50,
    as_json: bool = typer.Option(False, "--json"),
):
    """List conversations, newest first."""
    items = fm().conversations.list(query=query, limit=limit)
    if as_json:
        return emit_json([c.model_dump(mode="json", exclude={"messages"}) for c in items])
    table = Table("id", "title", "messages", "updated")
    for c in items:
        table.add_row(c.id, c.title, str(c.message_count), c.updated_at.strftime("%Y-%m-%d %H:%M"))
    out.print(table)


@conv_app.command("show")
def conv_show(conversation_id: str, as_json: bool = typer.Option(False, "--json")):
    """Show a conversation with its messages."""
    if as_json:
        return emit_json(fm().conversations.get(conversation_id).model_dump(mode="json"))
    typer.echo(fm().conversations.export(conversation_id, "markdown"))


@conv_app.command("create")
def conv_create(
    title: str | None = None,
    model: str | None = None,
    system: str | None = None,
    as_json: bool = typer.Option(False, "--json"),
):
    """Create an empty conversation."""
    c = fm().conversations.create(title=title, model=model, system_prompt=system)
    emit_json(c.model_dump(mode="json")) if as_json else typer.echo(c.id)


@conv_app.command("rename")
def conv_rename(conversation_id: str, title: str):
    """Rename a conversation."""
    fm().conversations.rename(conversation_id, title)
    err.print(f"renamed {conversation_id}")


@conv_app.command("delete")
def conv_delete(conversation_id: str):
    """Delete a conversation and its messages."""
    fm().conversations.delete(conversation_id)
    err.print(f"deleted {conversation_id}")


@conv_app.command("export")
def conv_export(
    conversation_id: str,
    format: str = typer.Option("markdown", "--format", "-f", help="json or markdown"),
    output: str | None = typer.Option(None, "--output", "-o", help="File to write (default: stdout)."),
):
    """Export a conversation as JSON or Markdown."""
    text = fm().conversations.export(conversation_id, format)
    if output:
        with open(output, "w", encoding="utf-8") as fh:
            fh.write(text)
        err.print(f"wrote {output}")
    else:
        typer.echo(text)


@conv_app.command("feedback")
def conv_feedback(
    message_id: int,
    rating: str = typer.Argument(..., help="up or down"),
    comment: str | None = typer.Option(None, "--comment"),
):
    """Rate an assistant message 👍 (up) or 👎 (down)."""
    fm().conversations.feedback(message_id, rating, comment)
    err.print(f"feedback stored on message {message_id}")


# -- keys ------------------------------------------------------------------------------------------
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
    questions: str = typer.Argument(..., help="JSON lines: question, relevant (file names), answer, lang."),
    modes: list[str] = typer.Option(
        ["bm25", "dense", "hybrid"], "--mode", help="Retrieval modes to compare (repeatable)."
    ),
    as_json: bool = typer.Option(False, "--json"),
):
    """Retrieval quality on a labelled question set: recall@k, MRR and nDCG@10 per mode and language."""
    from .knowledge.evaluation import evaluate, load_questions

    results = evaluate(fm().knowledge, name, load_questions(questions), modes=tuple(modes))
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


# -- background jobs -------------------------------------------------------------------------------
@jobs_app.command("list")
def jobs_list(kind: str | None = None, as_json: bool = typer.Option(False, "--json")):
    """List recent jobs."""
    jobs = fm().jobs.list(kind=kind)
    if as_json:
        return emit_json([j.model_dump(mode="json") for j in jobs])
    table = Table("id", "kind", "status", "progress", "created")
    for j in jobs:
        p = j.progress
        done = f"{p.get('files_done', 0)}/{p.get('files_total', 0)} files, {p.get('chunks', 0)} chunks" if p else ""
        table.add_row(j.id, j.kind, j.status, done, j.created_at.strftime("%Y-%m-%d %H:%M:%S"))
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


# -- guardrails -----------------------------------------------------------------------------------
def _read_config(path: str) -> dict:
    import yaml

    try:
        data = yaml.safe_load(open(path, encoding="utf-8"))
    except OSError as e:
        raise InvalidInput(f"cannot read {path}: {e.strerror}") from None
    except yaml.YAMLError as e:
        raise InvalidInput(f"{path} is not valid YAML: {e}") from None
    if not isinstance(data, dict):
        raise InvalidInput(f"{path} must hold a mapping (name, policies…)")
    return data


@guard_app.command("create")
def guard_create(path: str = typer.Argument(..., help="YAML file: name, messages and policies.")):
    """Create a guardrail from a YAML file."""
    rec = fm().guardrails.create(_read_config(path))
    err.print(f"created guardrail {rec.name} version {rec.version}")


@guard_app.command("update")
def guard_update(name: str, path: str):
    """Replace a guardrail's configuration (a new version)."""
    rec = fm().guardrails.update(name, _read_config(path))
    err.print(f"guardrail {rec.name} is now version {rec.version}")


@guard_app.command("list")
def guard_list(as_json: bool = typer.Option(False, "--json")):
    """List guardrails (newest versions)."""
    recs = fm().guardrails.list()
    if as_json:
        return emit_json([r.model_dump(mode="json") for r in recs])
    table = Table("name", "version", "policies")
    for r in recs:
        policies = [k for k in ("topics", "words", "pii", "attacks", "harm", "grounding") if r.config.get(k)]
        table.add_row(r.name, str(r.version), ", ".join(policies))
    out.print(table)


@guard_app.command("show")
def guard_show(name: str, version: int | None = None):
    """Print a guardrail's configuration as JSON."""
    emit_json(fm().guardrails.get(name, version).model_dump(mode="json"))


@guard_app.command("delete")
def guard_delete(name: str):
    """Delete a guardrail (all versions)."""
    fm().guardrails.delete(name)
    err.print(f"deleted guardrail {name}")


@guard_app.command("apply")
def guard_apply(
    name: str,
    text: str = typer.Argument(..., help="The text; '-' reads standard input."),
    source: str = typer.Option("input", help="input, output or context"),
    as_json: bool = typer.Option(False, "--json"),
):
    """Check a text against a guardrail and print what fired."""
    if text == "-":
        text = sys.stdin.read()
    if source not in ("input", "output", "context"):
        raise InvalidInput("--source must be input, output or context")
    res = fm().guardrails.apply(name, text, source)
    if as_json:
        return emit_json(res.to_dict())
    out.print(f"[bold]{res.action}[/] ({res.guardrail} v{res.version}, {res.latency_ms:.1f} ms)", highlight=False)
    for f in res.findings:
        where = f" at {f.start}-{f.end}" if f.start is not None else ""
        score = f" score {f.score}" if f.score is not None else ""
        out.print(f"  {f.policy}: {escape(f.name)} → {f.action}{where}{score} {escape(f.detail)}", highlight=False)
    if res.action in ("masked", "blocked"):
        out.print(escape(res.text), highlight=False)


@guard_app.command("eval")
def guard_eval(
    prompts: list[str] = typer.Option(None, "--prompts", help="JSONL of attack/benign prompts (repeatable)."),
    pii_set: str | None = typer.Option(None, "--pii", help="JSONL of texts with PII spans."),
    as_json: bool = typer.Option(False, "--json"),
):
    """Prompt-attack TPR/FPR and PII span precision/recall on labelled sets (default: the bundled ones)."""
    from pathlib import Path

    from .guardrails import Guardrail, parse_config
    from .guardrails.attacks import AttackDetector
    from .guardrails.evaluation import EVAL_GUARDRAIL, evaluate_classifier, evaluate_pii, evaluate_policies, load_jsonl

    data = Path(__file__).resolve().parents[2] / "bench" / "data" / "guardrails"
    prompts = prompts or [str(p) for p in sorted(data.glob("prompts*.jsonl"))]
    pii_set = pii_set or (str(data / "pii.jsonl") if (data / "pii.jsonl").exists() else None)
    if not prompts and not pii_set:
        raise InvalidInput(
            "give --prompts and/or --pii (the bundled sets live in the source tree's bench/data/guardrails)"
        )
    report: dict = {"attacks": {}, "pii": None}
    detector = AttackDetector(fm().models.embedding(None))
    for path in prompts:
        res = evaluate_classifier(load_jsonl(path), lambda t: detector.fires(t)[0])
        res.pop("misses")
        report["attacks"][Path(path).name] = res
    if pii_set:
        report["pii"] = evaluate_pii(load_jsonl(pii_set))
    if (data / "pii-names.jsonl").exists():  # the opt-in Chinese name and address detectors
        from .guardrails import pii

        report["pii_optional"] = evaluate_pii(
            load_jsonl(data / "pii-names.jsonl"), lambda text: pii.detect(text, pii.OPTIONAL_TYPES)
        )
    if (data / "policies.jsonl").exists():
        g = Guardrail(parse_config(EVAL_GUARDRAIL), fm().models.embedding(None))
        report["policies"] = evaluate_policies(load_jsonl(data / "policies.jsonl"), g)
    if as_json:
        return emit_json(report)
    table = Table("policy", "set", "group", "positives", "negatives", "TPR", "FPR")
    rows = [("prompt attacks", name, res) for name, res in report["attacks"].items()]
    labels = {"topics": "denied topics", "harm": "harm categories", "words": "word filters (profanity)"}
    rows += [(labels.get(p, p), "policies.jsonl", res) for p, res in report.get("policies", {}).items()]
    for policy, name, res in rows:
        for group, r in res.items():
            table.add_row(
                policy,
                name,
                group,
                str(r["positives"]),
                str(r["negatives"]),
                f"{r['tpr']:.3f}" if r["tpr"] is not None else "–",
                f"{r['fpr']:.3f}" if r["fpr"] is not None else "–",
            )
    out.print(table)
    for key, title in (("pii", "PII type"), ("pii_optional", "opt-in PII type (pii-names.jsonl)")):
        if not report.get(key):
            continue
        table = Table(title, "gold spans", "predicted", "precision", "recall", "exact boundaries")
        for kind, r in sorted(report[key].items(), key=lambda kv: (kv[0] != "all", kv[0])):
            table.add_row(
                kind,
                str(r["gold"]),
                str(r["predicted"]),
                f"{r['precision']:.3f}",
                f"{r['recall']:.3f}",
                f"{r['exact']:.3f}",
            )
        out.print(table)


# -- prompts ----------------------------------------------------------------------------------------
@prompts_app.command("save")
def prompts_save(
    path: str = typer.Argument(..., help="YAML: name, and template (text) or messages; description, note."),
    as_json: bool = typer.Option(False, "--json"),
):
    """Create a prompt, or add a version when it exists and its text changed."""
    data = _read_config(path)
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

    from .evaluation.runner import parse_spec

    data = _read_config(path)
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
        from .evaluation.report import write_report

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
    from .evaluation.report import write_report

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
@agents_app.command("create")
def agents_create(
    path: str = typer.Argument(..., help="YAML: name, instructions, model, tools, knowledge_bases, guardrail, limits."),
    replace: bool = typer.Option(False, "--replace", help="Replace an agent of the same name."),
):
    """Create (or replace) an agent from a YAML file."""
    cfg = fm().agents.create(_read_config(path), replace=replace)
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
    last = None
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
    as_json: bool = typer.Option(False, "--json"),
):
    """Tool selection and argument accuracy per category (single, multiple, parallel, irrelevance)."""
    from pathlib import Path

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from .agents.evaluation import evaluate

    if protocol not in ("native", "text"):
        raise InvalidInput("--protocol must be native or text")
    data = Path(__file__).resolve().parents[2] / "bench" / "data" / "agents"
    tasks_path, tools_path = Path(tasks or data / "tasks.jsonl"), Path(tools or data / "tools.json")
    if not tasks_path.exists() or not tools_path.exists():
        raise InvalidInput("give --tasks and --tools (the bundled set lives in the source tree's bench/data/agents)")
    try:
        rows = [json.loads(line) for line in tasks_path.read_text(encoding="utf-8").splitlines() if line.strip()]
        catalogue = json.loads(tools_path.read_text(encoding="utf-8"))
    except ValueError as e:
        raise InvalidInput(f"cannot read the evaluation set: {e}") from None
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
            f"{r['selection']:.3f}",
            f"{r['arguments']:.3f}",
            f"{r['parsed']:.3f}",
            f"{r['seconds']:.2f}",
        )
    out.print(table)


@agents_app.command("show-run")
def agents_show_run(run_id: str):
    """Print a stored run with its trace as JSON."""
    emit_json(fm().agents.get_run(run_id).model_dump(mode="json"))


@app.command()
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


@app.command()
def tokens(text: str, model: str | None = typer.Option(None, "--model", "-m")):
    """Count tokens with the model's own tokenizer."""
    typer.echo(fm().count_tokens(text, model=model))


def main() -> None:
    try:
        app()
    except FmstackError as e:
        err.print(f"[red]error:[/] {e.message}", highlight=False)
        raise SystemExit(e.exit_code) from None
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    finally:
        if _fm is not None:
            _fm.close()


if __name__ == "__main__":
    main()
