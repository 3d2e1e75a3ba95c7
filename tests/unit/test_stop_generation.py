"""Orchestration of StopGeneration (models/types.py): a reader that stops a model — the loop
stopper — still gets, and meters, the tokens the model generated, through every wrapper. The
model here is scripted; tests/test_batching.py stops the bundled model the same way."""

from __future__ import annotations

from fmstack.models.decoding import stop_loops
from fmstack.models.metering import metered
from fmstack.models.types import Finish, StopGeneration, TextDelta, Usage, UsageEvent, stop_early


class Source:
    """A model's stream that knows StopGeneration: it counts the pieces it made."""

    def __init__(self, pieces: list[str], finish: str = "length"):
        self.pieces, self.finish = pieces, finish
        self.made = 0
        self.stopped = False

    def __iter__(self):
        for p in self.pieces:
            self.made += 1
            try:
                yield TextDelta(p)
            except StopGeneration:
                self.stopped = True
                break
        yield UsageEvent(Usage(prompt_tokens=7, completion_tokens=self.made))
        yield Finish("stop" if self.stopped else self.finish)


def _usage(events) -> list[Usage]:
    return [e.usage for e in events if isinstance(e, UsageEvent)]


def test_a_loop_stopped_mid_stream_still_ends_with_the_model_s_usage():
    src = Source(["I like apples. "] * 50)
    events = list(stop_loops(iter(src)))
    assert src.stopped and src.made < 50  # the model was stopped, not read to its end
    assert _usage(events) == [Usage(7, src.made)]
    assert isinstance(events[-1], Finish) and events[-1].reason == "stop"


def test_an_outer_stopper_stops_the_model_through_an_inner_one():
    # the turn's stopper (language) over the model's own (loops): the stop reaches the model
    src = Source(["长城位于中国北部。", "It was built over many centuries. ", "More English follows here. "] * 5)
    events = list(stop_loops(stop_loops(iter(src)), question="长城在哪里？"))
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "长城位于中国北部。"
    assert src.stopped and _usage(events) == [Usage(7, src.made)] and events[-1].reason == "stop"


def test_a_sentence_cut_after_the_model_ended_keeps_its_usage():
    # the last sentence is rejected only when the model has already ended: its usage still goes on
    src = Source(["长城位于中国北部。", "It was built over many centuries"], finish="stop")
    events = list(stop_loops(stop_loops(iter(src)), question="长城在哪里？"))
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "长城位于中国北部。"
    assert _usage(events) == [Usage(7, 2)] and events[-1].reason == "stop"


def test_the_meter_records_what_a_stopped_model_generated():
    class Meter:
        def __init__(self):
            self.recorded, self.released = [], 0

        def record(self, model, usage, hold):
            self.recorded.append(usage)

        def release(self, hold):
            self.released += 1

    meter = Meter()
    src = Source(["and then the model, "] * 40)
    events = list(stop_loops(metered(None, iter(src), meter, hold=None)))  # type: ignore[arg-type]
    assert src.stopped and meter.recorded == [Usage(7, src.made)] and meter.released == 0
    assert _usage(events) == meter.recorded


def test_a_stream_that_does_not_know_stop_generation_is_closed():
    closed = []

    def plain():
        try:
            for _ in range(50):
                yield TextDelta("I like apples. ")
        finally:
            closed.append(True)

    assert list(stop_early(iter([TextDelta("x")]))) == []  # no throw(): nothing to wait for
    events = list(stop_loops(plain()))
    assert closed == [True] and events[-1] == Finish("stop") and _usage(events) == []


def _said(pieces: list[str], question: str) -> str:
    events = stop_loops(iter(Source(pieces, finish="stop")), question=question)
    return "".join(e.text for e in events if isinstance(e, TextDelta))


def test_prose_with_citation_marks_and_brackets_is_checked_as_prose():
    # an English sentence after a Chinese one is a switch of language though it cites a passage and
    # holds a parenthesis; a sentence said again with its citation mark is a repeat
    switched = ["老舍茶馆在前门西大街[1]。", "The passage refers to the dining area (美国宝鸭) [2]. ", "More here. "]
    assert _said(switched, "老舍茶馆在哪里？") == "老舍茶馆在前门西大街[1]。"
    assert _said(["The lighthouse stands on Bell Rock [1]. "] * 4, "Where is it?") == (
        "The lighthouse stands on Bell Rock [1]. "
    )


def test_english_that_names_something_in_chinese_and_code_are_not_a_switch():
    named = ["The teahouse is called 老舍茶馆 [1]. ", "It stands in Beijing [1]."]
    assert _said(named, "Where is the Laoshe Teahouse?") == "".join(named)
    code = ["调用这个函数即可。", "Then call apply_kernel(model) on the model. "]
    assert _said(code, "怎么启用融合算子？") == "".join(code)
