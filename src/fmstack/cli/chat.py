"""`fmstack ask`, `fmstack chat` and `fmstack conversations`."""

from __future__ import annotations

import sys

import typer
from rich.markup import escape
from rich.table import Table

from ..errors import FmstackError, InvalidInput
from ..models.types import Finish, GenerationParams, TextDelta, ToolCallDelta, UsageEvent
from ..sdk import as_messages
from .common import (
    MAX_TOKENS,
    REPEAT,
    SEED,
    STOP,
    TEMPERATURE,
    TOP_K,
    TOP_P,
    emit_json,
    err,
    fm,
    out,
    params_from,
)

conv_app = typer.Typer(help="Manage stored conversations.", no_args_is_help=True)


def _print_citations(citations) -> None:
    for c in citations:
        where = c.title + (f", page {c.page}" if c.page else "")
        out.print(f"[dim][{c.number}] {escape(where)}{' (inferred)' if c.inferred else ''}[/]", highlight=False)


def _stream_to_terminal(events) -> dict:
    usage, finish = None, None
    calls: dict[int, dict] = {}
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
            for s in getattr(ev, "sentences", []):
                if not s.supported:
                    err.print(f"[yellow]not supported by the passages: {escape(s.text)}[/]", highlight=False)
    sys.stdout.write("\n")
    for c in calls.values():
        err.print(f"[dim]tool call: {c['name']}({c['arguments']})[/]", highlight=False)
    return {"usage": usage, "finish": finish}


def ask(
    prompt: str | None = typer.Argument(None, help="The question; '-' or nothing reads standard input."),
    model: str | None = typer.Option(None, "--model", "-m"),
    system: str | None = typer.Option(None, "--system", "-s"),
    kb: str | None = typer.Option(None, "--kb", help="Answer from this knowledge base, with citations."),
    guardrail: str | None = typer.Option(None, "--guardrail", "-g", help="Check the question and the answer."),
    answer_mode: str | None = typer.Option(
        None, "--answer-mode", help="With --kb: generate, extract (quote the passages) or auto (default: the model's)."
    ),
    abstain_threshold: float | None = typer.Option(
        None, "--abstain-threshold", min=0, max=1, help='With --kb: say "I don\'t know" below this answerability.'
    ),
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
        options = {"answer_mode": answer_mode, "abstain_threshold": abstain_threshold}
        kw = dict(
            model=model, params=params, guardrail=guardrail, **{k: v for k, v in options.items() if v is not None}
        )
        if as_json:
            return emit_json(fm().ask_kb(kb, prompt, **kw).to_dict())
        _stream_to_terminal(fm().stream_kb_answer(kb, prompt, **kw))
        return
    turn = fm().turns.prepare(as_messages(prompt, system), model=model, params=params, guardrail=guardrail)
    if not as_json:
        _stream_to_terminal(turn.stream())
        return
    res = fm().turns.answer(turn).result()
    out = {
        "model": res.model,
        "text": res.text,
        "finish_reason": res.finish_reason,
        "usage": {"prompt_tokens": res.usage.prompt_tokens, "completion_tokens": res.usage.completion_tokens},
        "tool_calls": [c.to_openai() for c in res.tool_calls],
    }
    report = turn.guardrail_report()
    return emit_json({**out, "guardrail": report} if report is not None else out)


CHAT_HELP = "Commands: /new  start a new conversation · /history  show this conversation · /exit  leave"


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
    correction: str | None = typer.Option(None, "--correction", help="the answer it should have been"),
):
    """Rate an assistant message 👍 (up) or 👎 (down), with a corrected answer if you have one."""
    fm().conversations.feedback(message_id, rating, comment, correction)
    err.print(f"feedback stored on message {message_id}")


# -- keys ------------------------------------------------------------------------------------------
