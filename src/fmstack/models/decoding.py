"""Generations that stop when they go wrong: a loop (the same sentence again, a phrase repeated over
and over) or, given the question, a switch to another language mid-answer.

`stop_loops(events)` wraps any model's event stream. Text streams on as soon as it cannot be the
start of a loop (see stop_loops); a sentence that repeats an earlier one, or text that repeats a
short phrase `min_repeats` times in a row, ends the generation there: what repeats is not sent, the
model is closed (freeing it at once), and the stream finishes with reason "stop" as if the model had
stopped itself.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator

from .types import Event, Finish, StopGeneration, TextDelta, TokenTrail, stop_early

CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"  # as knowledge/text.py

# a sentence ends at . ! ? ; before a space (or the end so far), at Chinese 。！？； before anything
_END = re.compile(r"(?<=[。！？；])[\"'”’」)\]]*\s*|(?<=[.!?;])[\"'”’」)\]]*(\s+|$)|\n")
_CJK = re.compile(f"[{CJK}]")
_LATIN = re.compile(r"[A-Za-z]{2,}")
_NORM = re.compile(r"[\W_]+")
# code, where repeats and English are normal: braces, = < > ;, a call or index (a bracket right after a
# name: f(x), a[i]), an indented line. Prose keeps its own brackets: "(as noted)", citation marks [1].
_CODE = re.compile(r"[{};=<>]|\w\((?!\s)|\w\[(?!\d{1,3}\])|^ {4}|^\t", re.M)
_HOLD = 400  # characters held at most while waiting for a sentence to end
_TAIL_HELD = 8  # characters always held back, so a copy of what came before is seen before it is sent
_TAIL = 60 * 8  # text sent that a phrase loop is looked for in


def _script(text: str) -> str | None:
    """ "cjk", "latin" or None (too little text to tell, or mixed). A Chinese word is one or two
    characters: Chinese with a few English terms has at least two characters a Latin word ("cjk");
    English naming something in Chinese has at least as many words as characters ("latin")."""
    cjk, latin = len(_CJK.findall(text)), len(_LATIN.findall(text))
    if cjk + latin < 3:
        return None
    if cjk >= 2 * latin:
        return "cjk"
    return "latin" if latin >= cjk else None


def _repeat(text: str, size: int) -> int:
    """How many characters at the end of `text` repeat the text `size` characters before them."""
    n, i = len(text), len(text) - 1
    while i >= size and text[i] == text[i - size]:
        i -= 1
    return n - 1 - i


def _phrase_loop(text: str, min_repeats: int) -> int | None:
    """Where a phrase of 2..60 characters repeated at least `min_repeats` times in a row at the end
    of `text` begins (its second occurrence: the first is kept), or None. The copies need not end
    where the text does ("abcabcab" is "abc" almost three times)."""
    n = len(text)
    for size in range(2, 61):
        if size * min_repeats > n:
            break
        run = _repeat(text, size)
        if run < size * (min_repeats - 1):
            continue
        unit = text[n - run - size : n - run]
        if unit.strip() and (size >= 4 or _CJK.search(unit)):
            return n - run
    return None


def _repeating(text: str) -> int | None:
    """Where the end of `text` begins to repeat what was written just before it (a copy of up to 60
    characters, `_TAIL_HELD` of them or a whole copy already repeated), or None: text that may be
    the start of a loop, held back until it is known."""
    start = None
    for size in range(2, 61):
        run = _repeat(text, size)
        if run >= min(size, _TAIL_HELD):
            start = min(start if start is not None else len(text), len(text) - run)
    return start


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


def _ended(events: Iterator[Event], held: Event | None = None) -> Iterator[Event]:
    """The model's stream stopped now: its usage (what it did generate), then Finish("stop").
    `held`: an event already read from it and not yet passed on."""
    finished = False
    for ev in itertools.chain([held] if held is not None else [], stop_early(events)):
        finished = finished or isinstance(ev, Finish)
        yield ev
    if not finished:
        yield Finish("stop")


def stop_loops(
    events: Iterator[Event], *, question: str | None = None, min_repeats: int = 4, language: bool = True
) -> Iterator[Event]:
    """The events, stopped at the first loop (and, given the question, at the first sentence in
    another script than the question's: a Chinese question answered in Chinese, not English).
    Code (in ``` fences, or lines that look like code) is neither a repeat nor a change of language.

    Text streams on as soon as it cannot be a loop: a sentence is passed on while it is being
    written once it is no longer the beginning of an earlier sentence (and, after the first, once it
    shows the question's script); the last few characters are held back, and from the second copy
    of anything repeated at the end, so a phrase stopped as a loop is not sent."""
    want = _script(question) if (question and language) else None
    seen: set[str] = set()
    cur = ""  # the sentence being written
    out = 0  # how much of it has passed the sentence checks (moved to `ready`)
    free = False  # the sentence can no longer repeat an earlier one or switch language
    ready = ""  # passed the sentence checks, not yet sent
    sent = ""  # the last text sent (a phrase loop may have begun in it)
    stopped = False
    dropped = False  # the model ended on a sentence that was not sent
    held: Event | None = None  # read from the model, waiting for the text before it to go out
    fences = 0  # ``` seen so far: inside a code block lines may repeat and the language is code

    def prose(text: str) -> bool:
        return fences % 2 == 0 and "```" not in text and not _CODE.search(text)

    def may_free(text: str) -> bool:
        """Whether an unfinished sentence is already known not to repeat one or switch language."""
        if not prose(text):
            return True
        key = _NORM.sub(" ", text).strip().lower()
        if not key or any(s.startswith(key) for s in seen):
            return False
        return not (want and seen and _script(text) != want)

    trail = TokenTrail()  # the model's token logprobs, where asked for, sent with the text they make

    def send(upto: int, last: bool = False) -> Iterator[Event]:
        nonlocal ready, sent
        if not last:
            upto = trail.fit(upto)  # pieces end where tokens do, so each goes out with its own tokens
        if upto > 0:
            tokens = trail.take(upto)
            if last and tokens is not None:
                tokens += trail.rest() or []
            yield TextDelta(ready[:upto], tokens)
            sent, ready = (sent + ready[:upto])[-_TAIL:], ready[upto:]

    def rejected(sentence: str) -> bool:
        """A sentence (not yet let through) that repeats an earlier one or leaves the question's script."""
        if not prose(sentence) or free:
            return False
        key = _NORM.sub(" ", sentence).strip().lower()
        return (len(key) >= 8 and key in seen) or bool(want and seen and _script(sentence) not in (None, want))

    try:
        for ev in events:
            if dropped and isinstance(ev, TextDelta):
                continue
            if not isinstance(ev, TextDelta):
                if cur[out:].strip() and rejected(cur):  # the last sentence, unfinished: checked as a finished one is
                    cur, out, dropped = "", 0, True  # not sent; the model has ended: its usage and finish go on
                ready, cur, out, free = ready + cur[out:], "", 0, False
                held = Finish("stop") if dropped and isinstance(ev, Finish) else ev
                yield from send(len(ready), last=True)
                ev, held = held, None
                yield ev
                continue
            trail.add(ev)
            cur += ev.text
            pending = sent + ready + cur[out:]
            cut = _phrase_loop(pending, min_repeats)
            if cut is not None:
                ready += cur[out:]
                yield from send(cut - len(sent), last=True)
                ready, stopped = "", True
                break
            while (m := _END.search(cur)) is not None:
                sentence, cur = cur[: m.end()], cur[m.end() :]
                fences += sentence.count("```")
                key = _NORM.sub(" ", sentence).strip().lower()
                stopped = rejected(sentence)
                if stopped:
                    break
                if prose(sentence) and key:
                    seen.add(key)
                ready += sentence[out:]
                out = max(0, out - len(sentence))
                free = out > 0
            if stopped:
                break
            if not free and (may_free(cur) or len(cur) > _HOLD):
                free = True
            if free:
                ready, out = ready + cur[out:], len(cur)
            # hold back the end, and whatever repeats there, until it is known not to be a loop
            pending = sent + ready + cur[out:]
            keep = min(len(sent) + len(ready), len(pending) - _TAIL_HELD)
            again = _repeating(pending)
            if again is not None:
                keep = min(keep, again)
            yield from send(keep - len(sent))
        if stopped:
            yield from send(len(ready), last=True)
            yield from _ended(events)
        else:
            ready += cur[out:]
            yield from send(len(ready), last=True)
    except StopGeneration:  # the reader stopped first: so does the model
        yield from _ended(events, held)
    except Exception:
        if not stopped:
            ready += cur[out:]
            yield from send(len(ready))  # what was said before the model failed is kept
        raise
    finally:
        close = getattr(events, "close", None)
        if close is not None:
            close()
