"""Generations that stop when they go wrong: a loop (the same sentence again, a phrase repeated over
and over) or, given the question, a switch to another language mid-answer.

`stop_loops(events)` wraps any model's event stream. Text is passed on a sentence at a time (a
sentence is held until it ends, or until it is long enough to show it is not a loop); a sentence
that repeats an earlier one, or text that repeats a short phrase `min_repeats` times in a row, ends
the generation there: what repeats is not sent, the model is closed (freeing it at once), and the
stream finishes with reason "stop" as if the model had stopped itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from .types import Event, Finish, TextDelta

CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"  # as knowledge/text.py

_END = re.compile(r"(?<=[.!?。！？；;])[\"'”’」)\]]*(\s+|$)|\n")
_CJK = re.compile(f"[{CJK}]")
_LATIN = re.compile(r"[A-Za-z]{2,}")
_NORM = re.compile(r"[\W_]+")
_CODE = re.compile(r"[{}()\[\];=<>]|^ {4}|^\t", re.M)  # code, where repeats and English are normal
_HOLD = 400  # characters held at most while waiting for a sentence to end


def _script(text: str) -> str | None:
    """ "cjk", "latin" or None (too little text to tell)."""
    cjk, latin = len(_CJK.findall(text)), len(_LATIN.findall(text))
    if cjk + latin < 3:
        return None
    return "cjk" if cjk >= latin else "latin"


def _phrase_loop(text: str, min_repeats: int) -> int | None:
    """Where a phrase of 2..60 characters repeated at least `min_repeats` times in a row at the end
    of `text` begins (its second occurrence: the first is kept), or None."""
    n = len(text)
    for size in range(2, 61):
        if size * min_repeats > n:
            break
        unit = text[n - size :]
        if not unit.strip() or (size < 4 and not _CJK.search(unit)):
            continue
        k, end = 1, n - size
        while end - size >= 0 and text[end - size : end] == unit:
            k, end = k + 1, end - size
        if k >= min_repeats:
            return end + size
    return None


def loops(text: str, min_repeats: int = 4) -> bool:
    """Whether a finished text repeats itself the way stop_loops() would have stopped it."""
    seen: set[str] = set()
    for i in range(len(text)):
        if _phrase_loop(text[: i + 1], min_repeats) is not None:
            return True
    for sentence in _END.split(text):
        key = _NORM.sub(" ", sentence or "").strip().lower()
        if len(key) >= 8 and key in seen:
            return True
        seen.add(key)
    return False


def stop_loops(
    events: Iterator[Event], *, question: str | None = None, min_repeats: int = 4, language: bool = True
) -> Iterator[Event]:
    """The events, stopped at the first loop (and, given the question, at the first sentence in
    another script than the question's: a Chinese question answered in Chinese, not English).
    Code (in ``` fences, or lines that look like code) is neither a repeat nor a change of language."""
    want = _script(question) if (question and language) else None
    seen: set[str] = set()
    held = ""
    stopped = False
    fences = 0  # ``` seen so far: inside a code block lines may repeat and the language is code
    try:
        for ev in events:
            if stopped:
                continue
            if not isinstance(ev, TextDelta):
                if held:
                    yield TextDelta(held)
                    held = ""
                yield ev
                continue
            held += ev.text
            cut = _phrase_loop(held, min_repeats)
            if cut is not None:
                if held[:cut].strip():
                    yield TextDelta(held[:cut])
                held, stopped = "", True
                break
            while True:
                m = _END.search(held)
                if m is None:
                    break
                sentence, held = held[: m.end()], held[m.end() :]
                fences += sentence.count("```")
                prose = fences % 2 == 0 and "```" not in sentence and not _CODE.search(sentence)
                key = _NORM.sub(" ", sentence).strip().lower()
                if prose and len(key) >= 8 and key in seen:
                    stopped = True
                    break
                if prose and want and seen and _script(sentence) not in (None, want):
                    stopped = True
                    break
                if prose and key:
                    seen.add(key)
                yield TextDelta(sentence)
            if stopped:
                held = ""
                break
            if len(held) > _HOLD:
                yield TextDelta(held)
                held = ""
        if stopped:
            yield Finish("stop")
        elif held:
            yield TextDelta(held)
    except Exception:
        if held and not stopped:
            yield TextDelta(held)  # what was said before the model failed is kept
        raise
    finally:
        close = getattr(events, "close", None)
        if close is not None:
            close()
