"""Answers made from the passages themselves, and the checks every grounded answer goes through.

`Evidence(question, passages, embedder)` splits the passages into sentences and ranks them as
answers to the question, by:

- keyword overlap: the question's terms (jieba words, so Chinese too) found in the sentence, its
  section heading or the question-like line just before it (FAQs put the question above the
  answer), each term weighted by how rare it is among the passages (idf);
- meaning: the embedding similarity of question and sentence;
- answer type: a question that asks for a number, a date, a name or an identifier ("how many",
  "when", "who", "which function", 多少, 何时, 谁, 哪个函数…) wants a sentence that holds one;
- the passage's rank in retrieval (weight 0 in the current fit: on new documents it misled).

From that ranking come the three things a grounded answer needs:

- `answerability`: how likely the passages hold an answer at all — a logistic score of the best
  sentence's score, its meaning's closeness to the question and the answer-type match,
  fitted on the development split of bench/data/answers (`python bench/answers.py --fit`);
  below the threshold the answer is "I don't know", whatever the mode;
- `extract()`: the best sentences, quoted verbatim, each cited;
- `support(answer)`: for each sentence of any answer (the model's too), the passages that support
  it — checked by keyword coverage and embedding similarity, not taken from the model's [n] marks.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from ..models.base import embed_queries
from .text import CJK, sentence_spans, terms

# -- answer types -----------------------------------------------------------------------------------
_NUMERIC_Q = re.compile(
    r"\bhow (many|much|long|often|old|fast|large|big|far)\b|\bwhat (year|percentage|size|number)\b|"
    r"\bwhich year\b|多少|几|多大|多长|多久|多快|百分之|比例|倍",
    re.I,
)
# "时间" alone is no date question: 转换时间降到几分之一 asks for a ratio
_DATE_Q = re.compile(
    r"^\W*when\b|\bwhat (year|date|time)\b|\bwhich year\b|何时|什么时候|什么时间|哪个时间|哪一?年|何年|哪一?天|什么日期|日期是",
    re.I,
)
# "Which function / command / module …" wants a sentence that names one: a `code` span, a dotted or
# snake_case name, a call, a --flag, a camelCase name
_IDENT_Q = re.compile(
    r"\b(?:which|what)\s+(?:[a-z]+\s+){0,2}?(?:function|method|class|module|command|option|flag|parameter|"
    r"argument|library|package|setting|variable|attribute|keyword|field|api|endpoint|mode|style|extra)s?\b"
    r"|(?:哪个|哪一个|哪种|哪些|什么|哪一种)[^，。？?]{0,4}?(?:函数|方法|类|模块|命令|参数|选项|库|包|模式|配置项?|字段|接口|变量|风格)",
    re.I,
)
_IDENT = re.compile(
    r"`[^`\n]+`|\b\w+(?:[._]\w+)+\b|\b\w+\(\)|(?<![\w-])--?[a-z][\w-]*|\b[a-z]+[A-Z]\w*|\b[A-Z][a-z]+[A-Z]\w*"
)
_PERSON_Q = re.compile(r"\bwho\b|\bwhom\b|\bwhose\b|谁|哪位|作者|创始人|发明者", re.I)
_NUMBER = re.compile(
    r"\d|[一二三四五六七八九十百千万亿两]|\b(one|two|three|four|five|six|seven|eight|nine|ten|hundred)\b", re.I
)
# A quantity an answer states: a number standing alone (not the 3 of Qwen3 or the 2 of V2), maybe
# with a unit suffix, a Chinese numeral with a measure word (两个, 十二种), or an English number word.
_QUANTITY = re.compile(
    r"(?<![A-Za-z0-9_.])\d+(?:[.,]\d+)*(?:\s?%|[kKMB](?![A-Za-z])|万|亿)?(?![A-Za-z0-9_])"
    r"|[一二三四五六七八九十百千万亿两]+(?:个|种|条|次|倍|位|项|名|台|张|层|款|类|组|份|篇|部|家|人|年|天|小时|公里|米|元|岁|分钟|秒)"
    r"|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|dozens?|hundreds?|thousands?|millions?|billions?)\b",
    re.I,
)


def quantities(text: str, question: str = "") -> list[str]:
    """The quantities a sentence states that the question does not already contain."""
    return [m.group().strip() for m in _QUANTITY.finditer(text) if _new_quantity(m.group(), question)]


def _new_quantity(quantity: str, question: str) -> bool:
    q = quantity.strip()
    return q.lower() not in question.lower() and q not in _ARTICLES


_CLAUSE = re.compile(r"[，。；;!?！？()（）:：]|[,.](?=\s|$)")


def _counts(low: str, m: re.Match[str], focus: set[str]) -> bool:
    """Whether the quantity `m` of a (lower-cased) sentence is said of one of the `focus` terms:
    one of them is in the same clause, at most 40 characters away."""
    if not focus:
        return True
    after = _CLAUSE.split(low[m.start() : m.end() + 40])[0]
    before = _CLAUSE.split(low[max(0, m.start() - 40) : m.end()])[-1]
    clause = f"{before} {after}"
    return any(t in clause for t in focus) or bool(focus & set(words(clause)))


_ARTICLES = frozenset({"一个", "一种", "一位", "一项", "一条", "一次"})  # "a", "an": rarely the answer


# A when-question is answered by a date, and also by a time of day or a weekday ("at noon",
# "every evening at six", "07:25", "星期二", "中午")
_DATE = re.compile(
    r"\b(1[5-9]|20)\d\d\b|\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b|\d+\s*年|\d+\s*月|世纪"
    r"|\b\d{1,2}:\d\d\b|\b\d{1,2}\s*(am|pm|a\.m\.|p\.m\.|o'clock)|\b(noon|midnight|morning|afternoon|evening|night|dawn|dusk)\b"
    r"|\b(mon|tues|wednes|thurs|fri|satur|sun)day\b|星期|周[一二三四五六日天]|[上下中]午|晚上|早上|凌晨|(\d+|[一二三四五六七八九十两]+)\s*[点點]钟",
    re.I,
)
# Two or more capitalised words (Guido van Rossum, Python Software Foundation), not a sentence's
# capitalised first word ("The Python logo").
_NOT_NAME = r"(?:The|A|An|In|On|At|This|That|These|Those|It|Its|If|For|To|Of|And|But|Or|As|By|With|From|When|What|Who|How|Why|Where|Which|Our|We|You|Your|All|Some|See|Use|Note)"
_NAME = re.compile(
    rf"\b(?!{_NOT_NAME}\b)[A-Z][a-z]+(\s+(van|de|von|der)?\s*[A-Z][a-z]+)+\b|[{CJK}]{{2,4}}(先生|女士|教授|博士)|公司|团队"
)
_CJK_CHAR = re.compile(f"[{CJK}]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
_RULE = re.compile(r"^[\s\-=~^*_#`>|+:.]*$")  # underlines, rules, bullets alone


def answer_type(question: str) -> str | None:
    """What kind of answer the question asks for: number, date, person, identifier (a function,
    command, module… by name), or None (anything)."""
    if _DATE_Q.search(question):
        return "date"
    if _NUMERIC_Q.search(question):
        return "number"
    if _PERSON_Q.search(question):
        return "person"
    if _IDENT_Q.search(question):
        return "identifier"
    return None


_FOCUS_EN = re.compile(
    r"\bhow (?:many|much) ((?:[a-z0-9-]+ ){0,1}[a-z0-9-]+?)\b(?= (?:do|does|did|is|are|was|were|can|could|will|would|has|have|had|should|per|in|on|of|for|to)\b|[?.]|$)"
    r"|\bhow much (?:did|does|do|will|would|can|could) (?:\S+ ){1,6}?(cost|weigh|earn|pay|make|spend|sell)\b"
    r"|\b(?:what is|what's|what are) the (?:default|maximum|minimum|total|number of|size of|value of) ([a-z0-9-]+(?: [a-z0-9-]+)?)",
    re.I,
)
_FOCUS_ZH_AFTER = re.compile(rf"多少(?:个|种|条|次|倍|位|项|名|台|张|层)?([{CJK}A-Za-z0-9]{{1,6}})")
_FOCUS_ZH_BEFORE = re.compile(rf"([{CJK}A-Za-z0-9]{{1,4}}?)(?:是|有|为)?(?:多少|多大|多长|多久)[？?]?\s*$")


def focus_terms(question: str) -> set[str]:
    """What a quantity question counts or measures ("how many members" → members, 多少显存 → 显存):
    the answer has to state a number about it."""
    found: set[str] = set()
    for rx in (_FOCUS_EN, _FOCUS_ZH_AFTER, _FOCUS_ZH_BEFORE):
        for m in rx.finditer(question):
            phrase = next((g for g in m.groups() if g), "")
            found |= set(words(phrase))
    return found


def has_type(sentence: str, kind: str | None) -> bool:
    if kind == "date":
        return bool(_DATE.search(sentence) or _NUMBER.search(sentence))
    if kind == "number":
        return bool(_NUMBER.search(sentence))
    if kind == "person":
        return bool(_NAME.search(sentence))
    if kind == "identifier":
        return bool(_IDENT.search(sentence))
    return True


def is_cjk(text: str) -> bool:
    """Chinese (or Japanese/Korean) text: its CJK characters outnumber its Latin words."""
    return len(_CJK_CHAR.findall(text)) >= max(1, len(_LATIN_WORD.findall(text)))


_WRAP = re.compile(r"(?<=\S)\n(?=[ \t]*(?!\d+[.)]\s)(?![*+\-]\s)(?!```)[^\s+\-#>|=~^])")


def unwrap(text: str) -> str:
    """The text with hard line wraps inside paragraphs made spaces (same length, so spans found in
    it are spans of the original): a newline that starts a list item (numbered too: "2. "), heading,
    table row or code fence, or ends a paragraph, stays; one before "1/7）", "2024 年", an inline
    `code` span or a **bold** word goes."""
    return _WRAP.sub(" ", text)


def _underlined(text: str, end: int) -> bool:
    """An RST or setext heading: the next line is a rule of = - ~ ^."""
    nxt = text[end:].lstrip(" \t").split("\n", 1)[0] if end < len(text) else ""
    return len(nxt) >= 3 and bool(re.fullmatch(r"[=\-~^]{3,}\s*", nxt))


@lru_cache(maxsize=65536)
def information(term: str) -> float:
    """How much a word says, from its frequency in general English or Chinese (wordfreq's Zipf
    scale: 7 is "the"/"的", 0 unseen): function words and common verbs near 1, names and
    technical terms near 7. A question whose informative words the passages lack is one they
    do not answer."""
    from wordfreq import zipf_frequency

    lang = "zh" if _CJK_CHAR.search(term) else "en"
    zipf = zipf_frequency(term, lang)
    if not zipf and term in _SURFACE:  # a stem ("execut"): the word it came from
        zipf = zipf_frequency(_SURFACE[term], lang)
    return max(0.5, 7.0 - zipf)


_SURFACE: dict[str, str] = {}  # an English stem -> a word it came from (for information())


@lru_cache(maxsize=65536)
def _stem(term: str) -> str:
    if not (term.isascii() and term.isalpha() and len(term) > 3):
        return term
    from nltk.stem.snowball import EnglishStemmer

    stem = EnglishStemmer().stem(term)
    if stem != term:
        _SURFACE.setdefault(stem, term)
    return stem


def words(text: str) -> list[str]:
    """A text's keyword terms (terms()) with English words reduced to their stems (Snowball), so a
    question's "posted", "reached", "executable" find the passage's "post", "reach", "execute"."""
    return [_stem(t) for t in terms(text)]


# Characters jieba glues to a word in a question but not in the passage (秩是, 链要, 一列).
_GLUE = re.compile("[是要在中一的了里把用个有和与被将对]")


class _Vocabulary:
    """Does a question term occur in the passages, allowing for segmentation and word forms: the
    term itself, as a substring (Chinese), without glued function characters, or an English word
    sharing its stem (distributed ~ distribution)."""

    def __init__(self, texts: Sequence[str]):
        joined = "\n".join(texts)
        self.words = set(words(joined))
        self.text = re.sub(r"\s+", " ", joined.lower())
        self.stems = {w[:5] for w in self.words if len(w) >= 5 and w.isascii()}

    def __call__(self, term: str) -> bool:
        if term in self.words or term in self.text:
            return True
        if _CJK_CHAR.search(term):
            core = _GLUE.sub("", term)
            return bool(core) and core in self.text
        return len(term) >= 6 and term.isascii() and term[:5] in self.stems


def clean(text: str) -> str:
    """A passage sentence as quoted: whitespace runs collapsed, nothing else changed."""
    return re.sub(r"\s+", " ", text).strip()


# -- the fitted scorer ------------------------------------------------------------------------------
# Sentence score: a weighted sum of its features. Answerability: a logistic model over the best
# sentence's features. Both fitted on the development split of bench/data/answers by
# `python bench/answers.py --fit` (see that script); the figures it printed are in the README.
SENTENCE_WEIGHTS = {"cover": 1.0, "context": 0.5, "dense": 0.4, "type": 0.15, "rank": 0.0}
# The features are the subset (of best, cover, found, missing, type, dense) that ranks answerable
# above unanswerable questions best on documents the fit has not seen (leave-one-source-out AUC
# 0.964; all six: 0.957).
ANSWERABILITY = {"bias": -6.698, "best": 5.0, "type": 4.032, "dense": 3.146}
# the middle of the thresholds with the best leave-one-source-out Youden's J on the dev split (0.66..0.67;
# 218 questions about nine packages' documents): there, "I don't know" on 0.84 of the unanswerable
# questions and 0.05 of the answerable ones
DEFAULT_THRESHOLD = 0.67
# An extract quotes the best sentence, and the next best ones while they score within this share of it.
# novelty: below this share of new information the best sentence only restates the question, and
# the sentence after it is quoted too (a fixed rule, not fitted: a fifth of what it says)
EXTRACT: dict[str, Any] = {"sentences": 3, "within": 0.8, "novelty": 0.2}


def _near(a: str, b: str) -> bool:
    """The same word in another form (come ~ comes, framework ~ frameworks): a shared stem."""
    return a.isascii() and b.isascii() and min(len(a), len(b)) >= 4 and a[:4] == b[:4]


@dataclass
class Candidate:
    passage: int  # index in the passages
    start: int  # span in the passage's text
    end: int
    text: str  # as quoted (whitespace collapsed)
    features: dict[str, float] = field(default_factory=dict)
    score: float = 0.0


@dataclass
class SentenceSupport:
    text: str
    citations: list[int]  # 1-based passage numbers that support the sentence
    score: float  # the best support found (0..1)
    supported: bool

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "citations": self.citations, "score": self.score, "supported": self.supported}


def _sim(x: float) -> float:
    """An e5 cosine similarity rescaled to 0..1 (unrelated text sits near 0.8)."""
    return max(0.0, min(1.0, (x - 0.8) / 0.2))


class Evidence:
    """The passages of one grounded turn, read sentence by sentence against the question."""

    def __init__(self, question: str, passages: Sequence[Any], embedder: Any = None, *, support_threshold: float = 0.7):
        self.question = question
        self.passages = list(passages)
        self.embedder = embedder
        self.support_threshold = support_threshold
        self.kind = answer_type(question)
        self.candidates: list[Candidate] = []
        self._texts = [getattr(p, "text", p) for p in self.passages]
        self._sent_vecs: np.ndarray | None = None  # one row per candidate, in passage order
        self._sent_passage: list[int] = []
        self._build()

    # -- ranking -----------------------------------------------------------------------------------
    def _build(self) -> None:
        q_terms = list(dict.fromkeys(words(self.question)))
        units: list[tuple[int, int, int, str, set[str], set[str]]] = []  # passage, start, end, text, terms, context
        self._headings: dict[tuple[int, int], tuple[int, int]] = {}  # a sentence's span -> the heading line above it
        for i, text in enumerate(self._texts):
            heading = getattr(self.passages[i], "heading", "") or ""
            context = set(words(heading))
            above: set[str] = set()  # the question or heading line just above
            above_span: tuple[int, int] | None = None
            for a, b in sentence_spans(unwrap(text)):
                raw = text[a:b]
                if _RULE.match(raw):
                    continue
                st = set(words(raw))
                if not st:
                    continue
                line = raw.strip()
                if line.endswith(("?", "？")) or line.startswith("#") or _underlined(text, b):
                    above, above_span = st, (a, b)  # the sentences after it answer it
                    continue
                if above_span is not None:
                    self._headings[(i, a)] = above_span
                units.append((i, a, b, clean(raw), st, context | above))
                above_span = None
        self.q_terms = q_terms
        n = len(units)
        df: dict[str, int] = {}
        for u in units:
            for t in set(q_terms) & (u[4] | u[5]):
                df[t] = df.get(t, 0) + 1
        idf = {t: math.log(1 + (n + 1) / (df.get(t, 0) + 0.5)) for t in q_terms}
        total = sum(idf.values()) or 1.0
        # share of the question's keywords (idf-weighted) that occur anywhere in the passages
        found = _Vocabulary(self._texts)
        present = {t for t in q_terms if found(t)}
        self.found = sum(idf[t] for t in present) / total if q_terms else 0.0
        info = {t: information(t) for t in q_terms}
        info_total = sum(info.values()) or 1.0
        self.found_info = sum(info[t] for t in present) / info_total if q_terms else 0.0
        self.missing_info = max((info[t] for t in q_terms if t not in present), default=0.0) / 7.0
        self._info, self._info_total = info, info_total
        self._sent_passage = [u[0] for u in units]
        self._unit_texts: dict[int, list[str]] = {}
        for u in units:
            self._unit_texts.setdefault(u[0], []).append(u[3])
        dense = self._dense([u[3] for u in units])
        self._context = {(u[0], u[1]): u[5] for u in units}
        for k, (i, a, b, text, st, ctx) in enumerate(units):
            f = {
                "cover": sum(idf[t] for t in q_terms if t in st) / total if q_terms else 0.0,
                "context": sum(idf[t] for t in q_terms if t in ctx and t not in st) / total if q_terms else 0.0,
                "dense": float(dense[k]) if dense is not None else 0.0,
                "type": 1.0 if has_type(text, self.kind) else 0.0,
                "rank": 1.0 / (1 + i),
            }
            score = sum(SENTENCE_WEIGHTS[name] * v for name, v in f.items())
            self.candidates.append(Candidate(i, a, b, text, f, score))
        self.candidates.sort(key=lambda c: -c.score)

    def _dense(self, sentences: list[str]) -> np.ndarray | None:
        if self.embedder is None or not sentences:
            return None
        vecs = self.embedder.embed([s[:1000] for s in sentences], input_type="document")
        self._sent_vecs = vecs
        qv = embed_queries(self.embedder, [self.question])[0]
        return np.array([_sim(float(x)) for x in vecs @ qv])

    @property
    def best(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None

    def focus_match(self) -> float:
        """A quantity question: 1 when one of the best sentences states a number in the same clause
        as what the question counts ("how many models" wants "12 models", not a sentence with a 4k
        somewhere and models somewhere else), else 0. A who-question: 1 when one of them names
        someone and says about as much of what is asked as the best sentence. Others: 1."""
        if self.kind == "person":
            # someone named in a sentence that says what is asked, or in the one next to it
            # ("Name: Evelyn Hargreave; Role: Quartermaster" splits into two)
            top = self.candidates[0].features["cover"] if self.candidates else 0.0
            for c in self.candidates[:5]:
                if c.features["cover"] + c.features["context"] < 0.5 * top:
                    continue
                near = [d for d in self.candidates if d.passage == c.passage and abs(d.start - c.start) <= 200]
                if any(has_type(d.text, "person") for d in near):
                    return 1.0
            return 0.0
        if self.kind not in ("number", "date"):
            return 1.0
        focus = focus_terms(self.question)
        for c in self.candidates[:5]:
            seen = set(words(c.text)) | self._context.get((c.passage, c.start), set())
            low = c.text.lower()
            if not all(t in seen or t in low for t in focus):
                continue
            if self.kind == "date":
                if _DATE.search(c.text):
                    return 1.0
                continue
            if any(
                _counts(low, m, focus) for m in _QUANTITY.finditer(c.text) if _new_quantity(m.group(), self.question)
            ):
                return 1.0
        return 0.0

    def features(self) -> dict[str, float]:
        """What answerability is computed from (also what bench/answers.py --fit fits on)."""
        b = self.best
        out = {
            "best": 0.0,
            "cover": 0.0,
            "found": self.found_info,
            "missing": self.missing_info,
            "type": 0.0,
            "dense": 0.0,
        }
        if b is not None:
            units = words(b.text) + list(self._context.get((b.passage, b.start), ()))
            out.update(
                best=b.score,
                cover=sum(self._info[t] for t in set(self.q_terms) & set(units)) / self._info_total,
                type=self.focus_match(),
                dense=b.features["dense"],
            )
        return out

    @property
    def answerability(self) -> float:
        """0..1: how likely it is that the passages answer the question."""
        if self.best is None:
            return 0.0
        f = self.features()
        z = ANSWERABILITY["bias"] + sum(w * f[k] for k, w in ANSWERABILITY.items() if k != "bias")
        return round(1 / (1 + math.exp(-z)), 4)

    def novelty(self, c: Candidate) -> float:
        """The share of what a sentence says (its words weighted by information()) that the
        question does not already say: near 0 for a sentence that only restates the question."""
        said = set(words(c.text))
        if not said:
            return 0.0
        asked = set(self.q_terms)
        total = sum(information(t) for t in said)
        new = sum(information(t) for t in said if t not in asked and not any(_near(t, q) for q in asked))
        return new / total

    # -- answers -----------------------------------------------------------------------------------
    def extract(self, max_sentences: int | None = None) -> tuple[str, list[int]]:
        """The best sentences quoted verbatim, each followed by its passage's number, and the
        passage numbers cited. A second sentence is added only when it scores near the first."""
        if not self.candidates:
            return "", []
        max_sentences = max_sentences or int(EXTRACT["sentences"])
        chosen = [self.candidates[0]]
        for c in self.candidates[1:]:
            if len(chosen) >= max_sentences or c.score < EXTRACT["within"] * chosen[0].score:
                break
            if c.text != chosen[0].text:
                chosen.append(c)
        best = chosen[0]
        if self.novelty(best) < EXTRACT["novelty"]:
            # it only restates the question ("Python comes with two testing frameworks."): the
            # answer is what follows it
            nxt = self._next(best)
            if nxt is not None and nxt not in chosen:
                chosen.append(nxt)
        for c in list(chosen):
            # "… install it with the following command:" — what it announces is the answer
            if c.text.endswith((":", "：")):
                nxt = self._next(c)
                if nxt is not None and nxt not in chosen:
                    chosen.append(nxt)
        chosen.sort(key=lambda c: (c.passage, c.start))
        parts, cited = [], []
        for c in chosen:
            text = c.text
            header = self._table_header(c)
            if header and not any(o.passage == c.passage and o.text == header for o in chosen):
                text = f"{header} {text}"  # a table row says nothing without its column names
            above = self._headings.get((c.passage, c.start))
            if above is not None and not any(o.start == above[0] and o.passage == c.passage for o in chosen):
                head = clean(self._texts[c.passage][above[0] : above[1]])
                if head.startswith("#"):  # a Markdown heading names what the sentence is about
                    text = f"{head.lstrip('#').strip()}: {text}"
            parts.append(f"{text} [{c.passage + 1}]")
            if c.passage + 1 not in cited:
                cited.append(c.passage + 1)
        return " ".join(parts), cited

    def _next(self, c: Candidate) -> Candidate | None:
        """The sentence that follows `c` in its passage."""
        after = [d for d in self.candidates if d.passage == c.passage and d.start >= c.end]
        return min(after, key=lambda d: d.start, default=None)

    def _table_header(self, c: Candidate) -> str | None:
        """A Markdown table row's header row (the first row of its table), or None."""
        if not c.text.startswith("|"):
            return None
        lines = self._texts[c.passage][: c.start].split("\n")
        header = None
        for line in reversed(lines[:-1] if lines and not lines[-1].strip() else lines):
            if not line.strip().startswith("|"):
                break
            header = line.strip()
        if header is None or re.fullmatch(r"[|\s:\-]+", header):
            return None
        return clean(header)

    def support(self, answer: str) -> list[SentenceSupport]:
        """Each sentence of `answer` with the passages that support it. A passage supports a
        sentence when one of its sentences, or two in a row, holds most of what the sentence says
        (its words weighted by how informative they are, every number it states included), or
        says the same in other words (embedding similarity). Citation marks are not taken on trust."""
        text = unwrap(answer)
        sents = [_strip_marks(text[a:b]) for a, b in sentence_spans(text)]
        sents = [s for s in sents if words(s)]
        if not sents or not self._texts:
            return [SentenceSupport(clean(s), [], 0.0, False) for s in sents]
        windows: list[tuple[int, str]] = []  # (passage, one sentence or two in a row)
        for i in range(len(self._texts)):
            own = self._unit_texts.get(i, [])
            windows += [(i, t) for t in own]
            windows += [(i, f"{x} {y}") for x, y in zip(own, own[1:], strict=False)]
        w_terms = [set(words(w)) for _, w in windows]
        w_norm = [w.lower() for _, w in windows]
        vecs = None
        if self.embedder is not None and self._sent_vecs is not None:
            vecs = self.embedder.embed([s[:1000] for s in sents], input_type="document")
        out = []
        for k, s in enumerate(sents):
            st = set(words(s))
            weight = {t: information(t) for t in st}
            total = sum(weight.values()) or 1.0
            numbers = set(re.findall(r"\d+(?:[.,]\d+)?", s))
            per_passage = [0.0] * len(self._texts)
            for (i, _), wt, wn in zip(windows, w_terms, w_norm, strict=True):
                cover = sum(v for t, v in weight.items() if t in wt or t in wn) / total
                if numbers and not all(n in wn for n in numbers):
                    cover *= 0.5  # a figure the passage does not state
                per_passage[i] = max(per_passage[i], cover)
            if vecs is not None and self._sent_vecs is not None:
                sims = self._sent_vecs @ vecs[k]
                for j, i in enumerate(self._sent_passage):  # paraphrase: close in meaning
                    per_passage[i] = max(per_passage[i], _sim(float(sims[j])) - 0.2)
            best = max(per_passage)
            cites = [i + 1 for i, v in enumerate(per_passage) if v >= self.support_threshold and v >= best - 0.1]
            out.append(SentenceSupport(clean(s), cites, round(best, 3), best >= self.support_threshold))
        return out


_MARKS = re.compile(r"\s*\[\d{1,3}\]")


def _strip_marks(text: str) -> str:
    return _MARKS.sub("", text)
