"""Fitting a conversation into the model's context window (chat memory, agent sessions, grounded turns).

Policy (documented in the README):
1. The system prompt and the newest user message are always sent. If they alone do not fit,
   the turn fails with a context-length error rather than sending a truncated question.
2. Earlier messages are added newest first, a whole turn at a time (a user message with the
   assistant and tool messages that answer it), while they fit in
   `context_window - reserve`, where `reserve` is the requested max_tokens (or a quarter of the
   window, at most 1024 tokens) so the answer has room.
3. Older turns are dropped. With `summarize`, the dropped turns are replaced by a short summary
   written by the model, kept in the conversation so it is not rewritten every turn.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ..errors import ContextLengthExceeded
from .base import ChatModel
from .types import Message


@dataclass
class Fitted:
    messages: list[Message]
    dropped: list[int] = field(default_factory=list)  # indexes into `history` left out
    prompt_tokens: int = 0


def reserve_for(model: ChatModel, max_tokens: int | None) -> int:
    if max_tokens:
        return min(max_tokens, model.context_window // 2)
    return min(1024, model.context_window // 4)


def _turns(history: Sequence[Message]) -> list[list[int]]:
    """Group message indexes into turns, each starting at a user message."""
    turns: list[list[int]] = []
    for i, m in enumerate(history):
        if m.role == "user" or not turns:
            turns.append([i])
        else:
            turns[-1].append(i)
    return turns


def fit_to_context(
    model: ChatModel, system: Sequence[Message], history: Sequence[Message], new: Message, *, reserve: int
) -> Fitted:
    budget = model.context_window - reserve
    overhead = model.count_message_tokens([Message("user", "")])
    cost = lambda m: model.count_tokens(m.content) + overhead
    fixed = list(system) + [new]
    used = sum(cost(m) for m in fixed)
    if used > budget:
        raise ContextLengthExceeded(
            f"the system prompt and the new message take about {used} tokens, more than the {budget} that "
            f"{model.name} (context window {model.context_window}, {reserve} reserved for the answer) allows",
            param="messages",
        )
    kept: list[int] = []
    for turn in reversed(_turns(history)):
        need = sum(cost(history[i]) for i in turn)
        if used + need > budget:
            break
        used += need
        kept = turn + kept
    # Per-message estimates can be off by a few template tokens: check the real count and drop more.
    while True:
        messages = list(system) + [history[i] for i in kept] + [new]
        total = model.count_message_tokens(messages)
        if total <= budget or not kept:
            break
        first_turn = next(t for t in _turns([history[i] for i in kept]))
        kept = kept[len(first_turn) :]
    if total > model.context_window:
        raise ContextLengthExceeded(
            f"the prompt takes {total} tokens; {model.name} allows {model.context_window}", param="messages"
        )
    dropped = [i for i in range(len(history)) if i not in set(kept)]
    return Fitted(messages=messages, dropped=dropped, prompt_tokens=total)
