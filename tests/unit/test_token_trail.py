"""Token log probabilities through the stages that re-cut an answer's text: each piece of text
goes out with the tokens that made it, and none go out with text the model did not write."""

from __future__ import annotations

from fmstack.guardrails.engine import guard_stream
from fmstack.models.decoding import stop_loops
from fmstack.models.types import Finish, TextDelta, TokenLogprob, collect


def deltas(pieces: list[str]) -> list:
    """One delta per token, as a model streams them."""
    out: list = [TextDelta(p, [TokenLogprob(p, list(p.encode()), -0.5, [], p)]) for p in pieces]
    return [*out, Finish("stop")]


def tokens_of(events) -> list[TokenLogprob]:
    return [t for e in events if isinstance(e, TextDelta) for t in e.logprobs or []]


def test_every_piece_carries_the_tokens_of_its_text():
    pieces = ["The", " sky", " is", " blue", ".", " Grass", " is", " green", "."]
    out = list(stop_loops(iter(deltas(pieces))))
    assert len([e for e in out if isinstance(e, TextDelta)]) < len(pieces)  # re-cut: held back, then sent together
    for e in out:
        if isinstance(e, TextDelta):
            assert "".join(t.text for t in e.logprobs or []) == e.text
    res = collect("m", out)
    assert res.text == "".join(pieces) and [t.token for t in res.logprobs or []] == pieces


def test_a_loop_cut_keeps_the_tokens_of_what_was_sent():
    pieces = ["The", " sky", " is", " blue", "."] + [" It", " is", " blue", " today", "."] * 8
    res = collect("m", stop_loops(iter(deltas(pieces))))
    joined = "".join(t.text for t in res.logprobs or [])
    assert len(res.text) < len("".join(pieces))  # the loop was stopped
    assert joined.startswith(res.text) and len(joined) - len(res.text) < max(map(len, pieces))


def test_text_a_guardrail_rewrote_has_no_tokens(unit_fm):
    unit_fm.guardrails.create({"name": "g", "pii": {"types": {"email": "mask"}}})
    guard = unit_fm.guardrails.load("g")
    pieces = ["Hello", " there", ".", " Write", " to", " ann", "@example", ".com", " now", "."]
    out = [e for e in guard_stream(iter(deltas(pieces)), guard, []) if isinstance(e, TextDelta)]
    assert out[0].text == "Hello there." and [t.token for t in out[0].logprobs or []] == ["Hello", " there", "."]
    assert "ann@example.com" not in out[1].text and out[1].logprobs is None  # masked: not the model's text
