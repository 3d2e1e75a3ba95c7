"""The one turn pipeline, driven through its branches with the scripted model: every caller (chat,
/v1, ask_kb, evaluation, agents) gets the same input check, grounding and streaming output check."""

from __future__ import annotations

import pytest

from fmstack.errors import ModelError
from fmstack.knowledge.rag import CitationsEvent
from fmstack.models.types import ErrorEvent, Finish, Message, TextDelta

DOCS = {
    "tower.md": "# Eiffel Tower\n\nThe Eiffel Tower in Paris is 330 metres tall. It was finished in 1889.",
    "reef.md": "# Coral reefs\n\nThe Great Barrier Reef lies off Queensland, Australia. Divers see turtles there.",
    "文档.md": "# 长城\n\n长城位于中国北方，全长两万多公里。",
}


@pytest.fixture
def kb(unit_fm, tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    for name, text in DOCS.items():
        (folder / name).write_text(text, encoding="utf-8")
    unit_fm.knowledge.create("facts")
    report = unit_fm.knowledge.ingest("facts", [str(folder)])
    assert report.count("added") == 3
    return "facts"


@pytest.fixture
def guard(unit_fm):
    unit_fm.guardrails.create({"name": "g", "words": {"words": ["forbidden"]}, "pii": {"types": {"email": "mask"}}})
    return "g"


def text_of(events) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


def test_a_blocked_input_never_reaches_the_model(unit_fm, scripted, guard):
    scripted.script()  # any call would fail: the script is empty
    turn = unit_fm.turns.prepare([Message("user", "tell me the forbidden thing")], guardrail=guard)
    events = list(turn.stream())
    assert turn.blocked and scripted.prompts == []
    assert text_of(events) == "Sorry, I can't help with that request."
    assert events[-1] == Finish("content_filter")
    assert turn.trace[0].findings[0].name == "forbidden"


def test_a_masked_input_is_what_the_model_sees(unit_fm, scripted, guard):
    scripted.script("Noted.")
    turn = unit_fm.turns.prepare(
        [Message("system", "Be brief."), Message("user", "mail ada@example.com now")], guardrail=guard
    )
    assert text_of(turn.stream()) == "Noted."
    assert scripted.prompts[0][0].content == "Be brief."
    assert scripted.prompts[0][-1].content == "mail {EMAIL} now"


def test_the_output_is_checked_as_it_streams(unit_fm, scripted, guard):
    scripted.script("Write to bob@example.org today. That is all.")
    turn = unit_fm.turns.prepare([Message("user", "who do I write to?")], guardrail=guard)
    out = text_of(turn.stream())
    assert "bob@example.org" not in out and "{EMAIL}" in out and out.endswith("That is all.")
    assert any(a.action == "masked" for a in turn.trace)


def test_a_grounded_turn_puts_the_passages_in_the_prompt_and_cites_them(unit_fm, scripted, kb):
    scripted.script("The tower is 330 metres tall [1].")
    turn = unit_fm.turns.prepare([Message("user", "How tall is the Eiffel Tower in Paris?")], knowledge_base=kb)
    events = list(turn.stream())
    system = scripted.prompts[0][0]
    assert system.role == "system" and "330 metres" in system.content and "[1]" in system.content
    cites = events[-1]
    assert isinstance(cites, CitationsEvent) and cites.citations[0].source.endswith("tower.md")


def test_nothing_relevant_means_i_dont_know_in_the_questions_language(unit_fm, scripted, kb):
    scripted.script()
    for question, answer in (
        ("What is the recipe for chocolate cake?", "I don't know"),
        ("巧克力蛋糕怎么做？", "我不知道"),
    ):
        turn = unit_fm.turns.prepare([Message("user", question)], knowledge_base=kb)
        assert turn.passages == []
        assert text_of(turn.stream()).startswith(answer)
    assert scripted.prompts == []


def test_a_follow_up_is_searched_as_a_question_that_stands_alone(unit_fm, scripted, kb):
    scripted.script("How tall is the Eiffel Tower?", "330 metres [1].")
    history = [Message("user", "Tell me about the Eiffel Tower."), Message("assistant", "It is in Paris.")]
    turn = unit_fm.turns.prepare([*history, Message("user", "How tall is it?")], knowledge_base=kb)
    assert turn.query == "How tall is the Eiffel Tower?"
    assert "330 metres" in text_of(turn.stream())
    # the model answers the user's own words, after the conversation so far
    assert [m.content for m in scripted.prompts[1][-3:]] == [*(m.content for m in history), "How tall is it?"]


def test_retrieval_options_are_one_vocabulary_and_checked(unit_fm, kb):
    from fmstack.errors import InvalidInput

    with pytest.raises(InvalidInput, match="unknown retrieval option 'topk'"):
        unit_fm.turns.retrieve(kb, "Eiffel", retrieval={"topk": 3})
    with pytest.raises(InvalidInput, match="top_k"):
        unit_fm.turns.retrieve(kb, "Eiffel", retrieval={"top_k": 0})
    _, found = unit_fm.turns.retrieve(kb, "Eiffel Tower Paris", retrieval={"top_k": 1, "mode": "bm25"})
    assert len(found) == 1 and found[0].source.endswith("tower.md")


def test_ask_kb_and_a_chat_turn_send_the_same_prompt(unit_fm, scripted, kb):
    scripted.script("330 metres [1].", "330 metres [1].")
    ans = unit_fm.ask_kb(kb, "How tall is the Eiffel Tower in Paris?")
    conv = unit_fm.conversations.create(meta={"knowledge_base": kb})
    saved = unit_fm.chat.reply(conv.id, "How tall is the Eiffel Tower in Paris?")
    assert ans.text == saved.assistant_message.content == "330 metres [1]."
    assert scripted.prompts[0] == scripted.prompts[1]  # the same final prompt
    assert ans.citations[0].chunk_id == saved.assistant_message.meta["citations"][0]["chunk_id"]


def test_a_stored_chat_drops_the_oldest_turns_an_api_request_does_not(unit_fm, scripted):
    long = "word " * 700
    messages = [Message("user", long), Message("assistant", long), Message("user", "and now?")]
    turn = unit_fm.turns.prepare(messages, trim_history=True)
    assert turn.dropped == [0, 1] and turn.prompt[-1].content == "and now?"
    untrimmed = unit_fm.turns.prepare(messages)
    assert untrimmed.prompt == messages  # the caller chose what to send; the model says if it is too long


def test_a_failure_mid_stream_keeps_what_was_said(unit_fm, scripted):
    scripted.script(("The first part", ModelError("the model crashed")))
    conv = unit_fm.conversations.create()
    events = list(unit_fm.chat.send(conv.id, "hello"))
    assert text_of(events) == "The first part"
    assert any(isinstance(e, ErrorEvent) and "crashed" in e.message for e in events)
    stored = unit_fm.conversations.get(conv.id).messages
    assert stored[-1].content == "The first part" and stored[-1].finish_reason == "error"


def test_a_failure_before_any_output_stores_nothing(unit_fm, scripted):
    scripted.script(ModelError("no model today"))
    conv = unit_fm.conversations.create()
    with pytest.raises(ModelError):
        list(unit_fm.chat.send(conv.id, "hello"))
    assert unit_fm.conversations.get(conv.id).messages == []


def test_evaluation_takes_the_streaming_output_check(unit_fm, scripted, guard):
    from fmstack.evaluation.runner import parse_spec

    scripted.script("Mail carol@example.net for it.")
    spec = parse_spec(
        {
            "name": "guarded",
            "dataset": [{"input": "who do I ask?", "reference": "carol"}],
            "metrics": ["token_f1"],
            "configurations": [{"name": "g", "guardrail": guard}],
        }
    )
    [run_id] = unit_fm.evaluations.run(spec)
    [row] = unit_fm.evaluations.results(run_id)
    assert row["output"] == "Mail {EMAIL} for it."
