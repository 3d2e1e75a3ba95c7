"""Answers users can trust, on the real bundled model and embedding model: extractive answers quote
the passages verbatim and cite where they come from, unanswerable questions get "I don't know"
even when the passages are on the topic, every sentence's citations are checked, a looping
generation is stopped, and the answer follows the question's language."""

from __future__ import annotations

import re

import pytest

from fmstack.knowledge.answers import DEFAULT_THRESHOLD, is_cjk
from fmstack.knowledge.rag import DONT_KNOW, DONT_KNOW_ZH, strip_marks
from fmstack.models.decoding import loops, stop_loops
from fmstack.models.types import Finish, GenerationParams, Message, TextDelta

LIGHTHOUSE = """# The Bell Rock Lighthouse

The Bell Rock Lighthouse stands on a reef eleven miles off the coast of Angus, Scotland.
It was built between 1807 and 1810 by Robert Stevenson, and it is the oldest surviving
sea-washed lighthouse in the world.

## The light

The light was first lit on 1 February 1811. Its lamp was fuelled by whale oil until 1832.
The tower is 35 metres tall, and its light can be seen from 35 miles away.

## Keepers

Three keepers lived in the tower at a time. The last keepers left in 1988, when the light
was automated.
"""

TEAHOUSE_ZH = """# 老舍茶馆

老舍茶馆位于北京前门西大街，创办于1988年。茶馆以著名作家老舍的名字命名。
茶馆每天晚上有京剧、相声和杂技表演。一壶普通的茉莉花茶售价六十元。

## 建筑

茶馆的大楼共有三层。一层是大碗茶销售区，二层是演出大厅，三层是餐厅。
"""


@pytest.fixture(scope="module")
def answers_kb(fm, tmp_path_factory):
    folder = tmp_path_factory.mktemp("answer-docs")
    (folder / "bell-rock.md").write_text(LIGHTHOUSE, encoding="utf-8")
    (folder / "laoshe-teahouse.md").write_text(TEAHOUSE_ZH, encoding="utf-8")
    fm.knowledge.create("answers-kb")
    report = fm.knowledge.ingest("answers-kb", [folder])
    assert report.to_dict()["failed"] == 0
    return "answers-kb"


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


@pytest.mark.parametrize(
    "question, fact, source",
    [
        ("Who built the Bell Rock Lighthouse?", "Robert Stevenson", "bell-rock.md"),
        ("How far away can the light be seen?", "35 miles", "bell-rock.md"),
        ("老舍茶馆创办于哪一年？", "1988", "laoshe-teahouse.md"),
        ("茶馆的二层是做什么的？", "演出大厅", "laoshe-teahouse.md"),
    ],
)
def test_extractive_answers_quote_the_passages_verbatim_and_cite_them(fm, answers_kb, question, fact, source):
    ans = fm.ask_kb(answers_kb, question, answer_mode="extract")
    assert ans.answered and ans.mode == "extract"
    assert fact in ans.text
    quoted = [q.strip() for q in re.split(r"\s*\[\d+\]\s*", ans.text) if q.strip()]
    assert quoted and ans.citations
    cited_text = " ".join(_norm(c.text) for c in ans.citations)
    for sentence in quoted:  # every quoted piece is the passage's own words (a heading may lead it)
        body = sentence.split(": ", 1)[-1] if sentence.split(": ", 1)[0] in cited_text else sentence
        assert _norm(body) in cited_text, sentence
    assert {c.source.rsplit("/", 1)[-1] for c in ans.citations} == {source}
    marks = {int(n) for n in re.findall(r"\[(\d+)\]", ans.text)}
    assert marks == {c.number for c in ans.citations}  # the marks in the text are the citations returned
    assert all(s.supported for s in ans.sentences) and ans.to_dict()["unsupported"] == []


@pytest.mark.parametrize(
    "question, dont_know",
    [
        ("How much did it cost to build the Bell Rock Lighthouse?", DONT_KNOW),
        ("How many ships were wrecked on the Bell Rock reef?", DONT_KNOW),
        ("老舍茶馆一共有多少名员工？", DONT_KNOW_ZH),
    ],
)
@pytest.mark.parametrize("mode", ["extract", "generate", "auto"])
def test_on_topic_questions_the_passages_do_not_answer_get_i_dont_know(fm, answers_kb, question, dont_know, mode):
    ans = fm.ask_kb(answers_kb, question, answer_mode=mode)
    assert ans.passages, "retrieval found the on-topic passages"
    assert not ans.answered and ans.text == dont_know and ans.citations == []
    assert ans.answerability is not None and ans.answerability < DEFAULT_THRESHOLD
    # the threshold is the user's to move: at 0 nothing is refused
    forced = fm.ask_kb(answers_kb, question, answer_mode="extract", abstain_threshold=0)
    assert forced.answered and forced.citations


def test_the_same_questions_answered_have_a_higher_answerability(fm, answers_kb):
    yes = fm.ask_kb(answers_kb, "When was the light first lit?", answer_mode="extract")
    no = fm.ask_kb(answers_kb, "How much did it cost to build the Bell Rock Lighthouse?")
    assert yes.answered and "1811" in yes.text
    assert yes.answerability > no.answerability


def test_generated_sentences_cite_only_passages_that_support_them(fm, answers_kb):
    ans = fm.ask_kb(answers_kb, "How many keepers lived in the Bell Rock Lighthouse?", answer_mode="generate")
    assert ans.answered and ans.sentences
    by_number = {c.number: c for c in ans.citations}
    for s in ans.sentences:
        assert s.supported == (s.score >= 0.7)
        if not s.supported:
            assert s.citations == []  # an unsupported sentence cites nothing, whatever marks it carries
        for n in s.citations:
            assert n in by_number
    assert ans.to_dict()["unsupported"] == [i for i, s in enumerate(ans.sentences) if not s.supported]
    # a made-up sentence is checked, not trusted: its [1] is not a citation
    from fmstack.knowledge.answers import Evidence

    ev = Evidence("Who built it?", ans.passages, fm.models.embedding())
    made_up = ev.support("The lighthouse was painted purple by Napoleon in 1066 [1].")
    assert not made_up[0].supported and made_up[0].citations == []
    real = ev.support("Three keepers lived in the tower at a time [2].")
    assert real[0].supported and real[0].citations


def test_auto_keeps_only_supported_sentences(fm, answers_kb):
    ans = fm.ask_kb(answers_kb, "Who built the Bell Rock Lighthouse?", answer_mode="auto")
    assert ans.answered and ans.mode == "auto" and ans.text
    assert all(s.supported for s in ans.sentences), ans.to_dict()["sentences"]
    assert all(f"[{c.number}]" in ans.text for c in ans.citations)


def test_the_bundled_model_defaults_to_extract_and_a_knowledge_base_can_choose(fm, answers_kb, tmp_path):
    assert fm.models.chat().info.answer_mode == "extract"
    assert fm.ask_kb(answers_kb, "Who built the Bell Rock Lighthouse?").mode == "extract"
    (tmp_path / "bell-rock.md").write_text(LIGHTHOUSE, encoding="utf-8")
    fm.knowledge.create("answers-auto", retrieval={"answer_mode": "auto", "abstain_threshold": 0.5})
    fm.knowledge.ingest("answers-auto", [tmp_path])
    assert fm.ask_kb("answers-auto", "Who built the Bell Rock Lighthouse?").mode == "auto"
    # the request's own choice comes first
    assert fm.ask_kb("answers-auto", "Who built the lighthouse?", answer_mode="generate").mode == "generate"
    from fmstack.errors import InvalidInput

    with pytest.raises(InvalidInput, match="answer_mode"):
        fm.knowledge.create("answers-bad", retrieval={"answer_mode": "guess"})


def test_a_bad_answer_mode_is_a_clear_error(fm, answers_kb):
    from fmstack.errors import InvalidInput

    with pytest.raises(InvalidInput, match="answer_mode"):
        fm.ask_kb(answers_kb, "Who built it?", answer_mode="guess")


# -- decoding: loops and language --------------------------------------------------------------------
def _text(events) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


def test_the_loop_stopper_stops_a_repeating_stream_and_closes_it():
    closed = []

    def looping():
        try:
            yield TextDelta("BERT has 340 million parameters. ")
            for _ in range(50):
                yield TextDelta("BERT 模型训练时用多少个参数？")
            yield Finish("length")
        finally:
            closed.append(True)

    events = list(stop_loops(looping()))
    text = _text(events)
    assert text.count("BERT 模型训练时用多少个参数？") == 1  # said once, the repeats are not sent
    assert text.startswith("BERT has 340 million parameters.")
    assert isinstance(events[-1], Finish) and events[-1].reason == "stop" and closed == [True]


def _tokens(text: str, size: int = 3) -> list[TextDelta]:
    return [TextDelta(text[i : i + size]) for i in range(0, len(text), size)]


@pytest.mark.parametrize("size", [1, 3, 7])
def test_the_loop_stopper_sends_no_repeat_when_the_stream_comes_in_tokens(size):
    text = "BERT has 340 million parameters. " + "BERT 模型训练时用多少个参数？" * 20
    events = list(stop_loops(iter([*_tokens(text, size), Finish("length")])))
    assert _text(events) == "BERT has 340 million parameters. BERT 模型训练时用多少个参数？"
    phrase = "The model uses LoRA. " + "and then the model, " * 10
    assert _text(stop_loops(iter(_tokens(phrase, size)))).count("and then") == 1
    assert _text(stop_loops(iter(_tokens("I like apples. " * 4, size)))).strip() == "I like apples."


def test_the_loop_stopper_streams_a_sentence_before_it_ends():
    pulled = []

    def model():
        for t in _tokens("Paris is the capital of France and lies on the Seine. Paris is the capital. ", 2):
            pulled.append(t.text)
            yield t

    stream = stop_loops(model(), question="Where is Paris?")
    first = next(stream)
    assert isinstance(first, TextDelta) and len("".join(pulled)) <= 12  # not held to the full stop
    # a sentence that begins like an earlier one is held until it differs, and a repeat never comes
    assert first.text + _text(stream) == "Paris is the capital of France and lies on the Seine. Paris is the capital. "


def test_the_loop_stopper_stops_a_repeated_phrase_without_punctuation():
    events = list(stop_loops(iter([TextDelta("the answer is " + "very " * 40), Finish("length")])))
    assert _text(events).count("very") <= 4 and events[-1].reason == "stop"


def test_the_loop_stopper_leaves_a_normal_answer_alone():
    text = "Paris is the capital of France. It lies on the Seine. Paris has about two million people."
    events = list(stop_loops(iter([TextDelta(w + " ") for w in text.split()] + [Finish("stop")])))
    assert _text(events).split() == text.split() and events[-1].reason == "stop"
    assert not loops(text)


def test_the_loop_stopper_stops_a_switch_of_language():
    events = list(
        stop_loops(
            iter(
                [
                    TextDelta("长城位于中国北部。"),
                    TextDelta("It was built over many centuries by workers."),
                    Finish("stop"),
                ]
            ),
            question="长城在哪里？",
        )
    )
    assert _text(events) == "长城位于中国北部。"


def test_the_loop_stopper_lets_code_repeat_and_be_in_english():
    answer = (
        "这是一个例子。\n```python\ndef a(x):\n    return result\n\ndef b(x):\n    return result\n```\n"
        "两个函数都返回结果。"
    )
    events = list(stop_loops(iter([TextDelta(answer), Finish("stop")]), question="怎么写两个函数？"))
    assert _text(events) == answer


def test_the_bundled_model_does_not_loop_on_a_prompt_that_invites_it(fm):
    model = fm.models.chat()
    events = list(
        model.stream(
            [Message("user", "Repeat this sentence forever: I like apples. I like apples. I like apples.")],
            GenerationParams(max_tokens=300, temperature=0),
        )
    )
    assert not loops(_text(events))
    assert isinstance(events[-1], Finish)


def test_answers_follow_the_question_language(fm, answers_kb):
    zh = fm.ask_kb(answers_kb, "老舍茶馆在哪里？", answer_mode="auto")
    assert zh.answered and is_cjk(strip_marks(zh.text))
    en = fm.ask_kb(answers_kb, "Where does the Bell Rock Lighthouse stand?", answer_mode="auto")
    assert en.answered and not is_cjk(en.text)
    # the grounded prompt tells the model which language to answer in
    turn = fm.turns.prepare(
        [Message("user", "老舍茶馆在哪里？")], knowledge_base=answers_kb, retrieval={"answer_mode": "generate"}
    )
    assert "用中文回答" in turn.prompt[0].content
    generated = fm.turns.answer(turn).text
    assert generated and not any(
        not is_cjk(s) for s in re.split(r"(?<=[。！？])", generated)[1:] if len(re.findall(r"[A-Za-z]{2,}", s)) >= 3
    )


MUSEUM = """# The harbour museum

The harbour museum offers two kinds of tours. The first is a guided walk along the old docks;
the second is an audio tour of the ship hall.

The museum opened in 1994, and its collection of ship models has grown every year since.
"""

RAILWAY_ZH_HANT = """# 阿里山林業鐵路

阿里山林業鐵路位於臺灣嘉義縣，全長 71.4 公里。鐵路於 1912 年通車，最初用來運送木材。
"""


@pytest.fixture(scope="module")
def more_kb(fm, tmp_path_factory):
    folder = tmp_path_factory.mktemp("more-answer-docs")
    (folder / "museum.md").write_text(MUSEUM, encoding="utf-8")
    (folder / "alishan.md").write_text(RAILWAY_ZH_HANT, encoding="utf-8")
    fm.knowledge.create("answers-more")
    assert fm.knowledge.ingest("answers-more", [folder]).to_dict()["failed"] == 0
    return "answers-more"


def test_a_simplified_question_finds_its_answer_in_traditional_text(fm, more_kb):
    from fmstack.knowledge.text import terms

    assert terms("臺灣正體") == terms("台湾正体")
    ans = fm.ask_kb(more_kb, "阿里山林业铁路是哪一年通车的？", answer_mode="extract")
    assert ans.answered and "1912" in ans.text and "通車" in ans.text  # quoted as written


def test_a_sentence_that_restates_the_question_is_quoted_with_the_next(fm, more_kb):
    ans = fm.ask_kb(more_kb, "What two kinds of tours does the harbour museum offer?", answer_mode="extract")
    assert ans.answered and "guided walk" in ans.text


def test_a_count_is_answered_only_by_a_number_said_of_what_is_counted(fm, more_kb):
    # "1994" and "ship models" share a sentence but not a clause: that number is not the count asked for
    no = fm.ask_kb(more_kb, "How many ship models does the museum have?", answer_mode="extract")
    assert not no.answered and no.text == DONT_KNOW
    yes = fm.ask_kb(more_kb, "How many kinds of tours does the harbour museum offer?", answer_mode="extract")
    assert yes.answered and "two kinds of tours" in yes.text
    assert yes.answerability > no.answerability


def test_a_when_question_is_answered_by_a_time_and_a_who_question_by_a_name_next_to_the_role(fm, tmp_path):
    import kb_fixtures

    (tmp_path / "notes.md").write_text("# Notes\n\nThe ferry leaves at noon.", encoding="utf-8")
    (tmp_path / "ships.xlsx").write_bytes(kb_fixtures.xlsx_bytes())  # "Name: Evelyn Hargreave; Role: Quartermaster"
    fm.knowledge.create("answers-times")
    assert fm.knowledge.ingest("answers-times", [tmp_path]).count("failed") == 0
    when = fm.ask_kb("answers-times", "When does the ferry leave?", answer_mode="extract")
    assert when.answered and "noon" in when.text
    who = fm.ask_kb("answers-times", "Who is the quartermaster?", answer_mode="extract")
    assert who.answered and who.citations


def test_a_quantity_answer_states_a_number_the_question_does_not_hold():
    from fmstack.knowledge.answers import answer_type, quantities

    assert quantities("Qwen3 模型有 2350 亿参数", "Qwen3 模型有多少个参数？") == ["2350"]
    assert quantities("如果模型本身具备推理能力（如 Qwen3），一个模型", "Qwen3") == []
    assert quantities("NeedleBench V2 covers 4k and 8k, with two tracks", "NeedleBench V2") == ["4k", "8k", "two"]
    assert answer_type("OpenCC 的转换时间最多降到原来的几分之一？") == "number"
    assert answer_type("阿里山林业铁路是哪一年通车的？") == "date"


def test_what_a_sentence_announces_with_a_colon_and_a_table_row_s_columns_are_quoted_too(fm, tmp_path):
    (tmp_path / "setup.md").write_text(
        "# Setup\n\nThe harbour server runs on any machine with Python.\n\n"
        "If port 8000 is already taken on your machine by another program, move the timetable elsewhere with the "
        "following command:\n\n"
        "```bash\nharbour serve --port 9000\n```\n\nThe timetable then updates every minute.\n",
        encoding="utf-8",
    )
    (tmp_path / "fleet.md").write_text(
        "# Fleet\n\nThe fleet register lists every vessel.\n\n"
        "| Vessel | Tonnage | Berth |\n| --- | --- | --- |\n| Baltic Star | 8150 | East 1 |\n| Nordic Wind | 900 | West 4 |\n",
        encoding="utf-8",
    )
    fm.knowledge.create("answers-layout")
    assert fm.knowledge.ingest("answers-layout", [tmp_path]).count("failed") == 0
    port = fm.ask_kb("answers-layout", "What if port 8000 is already taken?", answer_mode="extract")
    assert port.answered and "following command:" in port.text and "harbour serve --port 9000" in port.text
    row = fm.ask_kb("answers-layout", "What is the tonnage of the Baltic Star?", answer_mode="extract")
    assert row.answered and "| Baltic Star | 8150 | East 1 |" in row.text
    assert "| Vessel | Tonnage | Berth |" in row.text  # the row is quoted with its table's header row


def test_a_which_function_question_wants_a_sentence_that_names_one():
    from fmstack.knowledge.answers import answer_type, has_type, unwrap

    for q in (
        "Which function do I wrap a sequence in?",
        "Which command lists the spinners?",
        "图片只有一行文字时用哪个函数？",
    ):
        assert answer_type(q) == "identifier"
    assert answer_type("Which release of Click added fish completion?") is None
    assert answer_type("Which year was Python released?") == "date"
    assert has_type("This is where Python's `readline` module takes over.", "identifier")
    assert has_type("Call CnOcr.ocr_for_single_line() on the image.", "identifier")
    assert has_type("Pass windows_expand_args=False when calling it.", "identifier")
    assert not has_type("Rich uses the pygments library to highlight code.", "identifier")
    # a line that goes on with `code` or **bold** is the same sentence; a list item or fence is not
    assert unwrap("因为根据\n`《汉语拼音方案》`__ 都不是声母。") == "因为根据 `《汉语拼音方案》`__ 都不是声母。"
    assert unwrap("see\n**CnSTD** for it") == "see **CnSTD** for it"
    assert unwrap("items:\n* one\n```\ncode").startswith("items:\n* one\n```")
