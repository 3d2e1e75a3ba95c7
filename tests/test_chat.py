"""Conversations with memory on the real model and database: storage, trimming, summaries, feedback."""

from __future__ import annotations

import json

import pytest

from fmstack.chat import TurnSaved
from fmstack.errors import ContextLengthExceeded, InvalidInput, NotFound
from fmstack.models import GenerationParams, Message, TextDelta
from fmstack.models.context import fit_to_context


def test_every_turn_is_stored_and_sent_back_to_the_model(fm):
    conv = fm.conversations.create(system_prompt="You are a terse assistant.")
    t1 = fm.say(conv.id, "My name is Ada Lovelace.", max_tokens=20, temperature=0)
    t2 = fm.say(conv.id, "What is my name?", max_tokens=20, temperature=0)
    stored = fm.conversations.get(conv.id)
    assert [m.role for m in stored.messages] == ["user", "assistant", "user", "assistant"]
    assert stored.messages[0].content == "My name is Ada Lovelace."
    # The second prompt carried the first turn: it is longer by at least that turn's tokens.
    first_turn = fm.count_tokens("My name is Ada Lovelace.") + fm.count_tokens(t1.assistant_message.content)
    assert t2.assistant_message.prompt_tokens >= t1.assistant_message.prompt_tokens + first_turn
    assert t2.assistant_message.model == "smollm2"
    assert stored.title == "My name is Ada Lovelace."


def test_list_rename_search_delete(fm):
    a = fm.conversations.create(title="Trip to Kyoto")
    b = fm.conversations.create(title="关于长城的问题")
    fm.conversations.append(b.id, [{"role": "user", "content": "长城有多长？"}])
    ids = [c.id for c in fm.conversations.list()]
    assert ids.index(b.id) < ids.index(a.id)  # newest activity first
    assert [c.id for c in fm.conversations.list(query="长城")] == [b.id]
    fm.conversations.rename(a.id, "Trip to Osaka")
    assert fm.conversations.get(a.id).title == "Trip to Osaka"
    with pytest.raises(InvalidInput):
        fm.conversations.rename(a.id, "   ")
    fm.conversations.delete(b.id)
    with pytest.raises(NotFound):
        fm.conversations.get(b.id)
    assert b.id not in [c.id for c in fm.conversations.list(limit=500)]


def test_export_json_and_markdown(fm):
    conv = fm.conversations.create(title="导出测试", system_prompt="Be kind.")
    t = fm.say(conv.id, "Say hi in Chinese: 你好", max_tokens=10, temperature=0)
    fm.conversations.feedback(t.assistant_message.id, "down", "too short")
    data = json.loads(fm.conversations.export(conv.id, "json"))
    assert data["title"] == "导出测试" and len(data["messages"]) == 2
    assert data["messages"][1]["rating"] == -1 and data["messages"][1]["feedback_comment"] == "too short"
    md = fm.conversations.export(conv.id, "markdown")
    assert md.startswith("# 导出测试") and "## System\n\nBe kind." in md and "你好" in md and "👎 too short" in md
    with pytest.raises(InvalidInput):
        fm.conversations.export(conv.id, "pdf")


def test_feedback_is_stored_with_the_message_and_can_be_cleared(fm):
    conv = fm.conversations.create()
    t = fm.say(conv.id, "Hello", max_tokens=5)
    up = fm.conversations.feedback(t.assistant_message.id, "up", "helpful")
    assert (up.rating, up.feedback_comment) == (1, "helpful") and up.feedback_at is not None
    assert t.assistant_message.id in [m.id for m in fm.conversations.rated_messages(1)]
    with pytest.raises(InvalidInput):
        fm.conversations.feedback(t.user_message.id, "up")
    with pytest.raises(InvalidInput):
        fm.conversations.feedback(t.assistant_message.id, "sideways")
    cleared = fm.conversations.feedback(t.assistant_message.id, None)
    assert cleared.rating is None and cleared.feedback_at is None


def test_long_conversation_is_trimmed_to_the_window(fm):
    model = fm.models.chat("small-window")
    conv = fm.conversations.create(model="small-window", system_prompt="SYSTEM-RULE: answer briefly.")
    filler = "This is a long message about the weather and the sea and the mountains. " * 4
    for i in range(8):
        fm.conversations.append(
            conv.id, [{"role": "user", "content": f"[{i}] {filler}"}, {"role": "assistant", "content": f"Noted {i}."}]
        )
    history = [m.to_message() for m in fm.conversations.get(conv.id).messages]
    assert model.count_message_tokens(history) > model.context_window  # the whole story no longer fits
    turn = fm.say(conv.id, "What was the last number?", max_tokens=32)
    assert turn.dropped_messages > 0
    assert turn.assistant_message.prompt_tokens + 32 <= model.context_window
    fitted = fit_to_context(
        model,
        [Message("system", "SYSTEM-RULE: answer briefly.")],
        history,
        Message("user", "What was the last number?"),
        reserve=32,
    )
    # Kept: the system prompt, the newest turns in order, the new message; dropped: the oldest.
    assert fitted.messages[0].content.startswith("SYSTEM-RULE")
    assert fitted.messages[-1].content == "What was the last number?"
    assert fitted.messages[-2].content == "Noted 7."
    assert fitted.dropped == list(range(len(fitted.dropped)))
    assert fitted.messages[1].role == "user"  # whole turns only


def test_trimmed_turns_can_be_summarised_and_the_summary_is_kept(fm):
    conv = fm.conversations.create(model="small-window", meta={"summarize": True})
    filler = "I like hiking in the Alps every summer with my dog Rex. " * 5
    for i in range(6):
        fm.conversations.append(
            conv.id, [{"role": "user", "content": f"{i}: {filler}"}, {"role": "assistant", "content": "Sounds great."}]
        )
    turn = fm.say(conv.id, "What is my dog called?", max_tokens=24)
    stored = fm.conversations.get(conv.id, messages=False)
    assert turn.dropped_messages > 0
    assert stored.summary and stored.summary_through is not None
    again = fm.say(conv.id, "And where do I hike?", max_tokens=8)
    assert fm.conversations.get(conv.id, messages=False).summary_through >= stored.summary_through
    assert again.assistant_message.finish_reason in ("stop", "length")


def test_a_message_larger_than_the_window_is_refused_and_nothing_is_stored(fm):
    conv = fm.conversations.create(model="small-window")
    with pytest.raises(ContextLengthExceeded):
        fm.say(conv.id, "word " * 600)
    assert fm.conversations.get(conv.id).messages == []


def test_stopping_a_stream_keeps_the_partial_answer(fm):
    conv = fm.conversations.create()
    stream = fm.chat.send(conv.id, "Tell me a long story about a castle.", params=GenerationParams(max_tokens=400))
    got = [next(stream) for _ in range(3)]
    assert all(isinstance(e, TextDelta) for e in got)
    stream.close()
    msgs = fm.conversations.get(conv.id).messages
    assert [m.role for m in msgs] == ["user", "assistant"]
    assert msgs[1].finish_reason == "cancelled"
    assert msgs[1].content == "".join(e.text for e in got)
    assert fm.models.chat().lock.waiting == 0


def test_empty_message_is_refused(fm):
    conv = fm.conversations.create()
    with pytest.raises(InvalidInput):
        fm.say(conv.id, "   ")
    with pytest.raises(NotFound):
        fm.say("conv_missing", "hi")


def test_stream_ends_with_the_saved_turn(fm):
    conv = fm.conversations.create()
    events = list(fm.chat.send(conv.id, "Hi!", params=GenerationParams(max_tokens=8)))
    assert isinstance(events[-1], TurnSaved)
    saved = events[-1]
    assert saved.assistant_message.content == "".join(e.text for e in events if isinstance(e, TextDelta))
    assert saved.assistant_message.completion_tokens > 0
