"""The other items of a list a request writes a value in: "the weather in Paris and Bordeaux",
"in 1980 and 2016", "北京、上海和广州". The fill stage writes one call from a request; each further
item of a list one of its values stands in becomes one more call of the same tool, with that value
replaced. A list is items of the value's own kind joined by separators (",", "and", "or", "、",
"和"): names of capitalised words (with a ", ST" code after each, as in "Tulum, QR"), numbers (with
the same unit word after them, where both have one: "0 meters and 1000 meters", never "2 adults and
1 child"), or as many words as the value has."""

from __future__ import annotations

import re

from .decoding import CJK
from .places import regions

# a token: a number (1,000.5), a word, a run of Chinese characters, or one punctuation mark
_TOKEN = re.compile(rf"\d+(?:[.,]\d+)*|[^\W\d_](?:[\w'’-]*\w)?|[{CJK}]+|[^\s\w]")
_JOINERS = {"and", "or", "y", "et", "und", "&", "和", "与", "及", "跟", "或", "或者", "以及"}
_COMMAS = {",", "、", "，", ";", "；"}
_DETERMINERS = {"a", "an", "the"}
_INNER = {"de", "del", "la", "le", "of", "van", "von", "da", "di"}  # inside a name: Playa del Carmen
_RANGE = {"between", "介于", "在"}
_CJK = re.compile(f"[{CJK}]")
_FUNCTION = set(
    "a an the of to in on at for by with from is are was were be it as and or if but not what which who how "
    "when where please".split()
)


def _tokens(text: str) -> list[tuple[str, int, int]]:
    out = []
    for m in _TOKEN.finditer(text):
        if _CJK.match(m.group()):
            import jieba

            out += [(w, m.start() + s, m.start() + e) for w, s, e in jieba.tokenize(m.group())]
        else:
            out.append((m.group(), m.start(), m.end()))
    return out


def _number(token: str) -> float | None:
    try:
        return float(token.replace(",", ""))
    except ValueError:
        return None


def stem(word: str) -> str:
    """A word without its plural ending ("meters" -> "meter", "cities" -> "city")."""
    word = word.casefold()
    return word[:-3] + "y" if word.endswith("ies") else word[:-1] if word.endswith("s") and len(word) > 3 else word


class _List:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.words = [t[0] for t in self.tokens]

    def separator(self, i: int) -> int:
        """How many tokens from i form a separator between two items (0: none)."""
        w = [x.casefold() for x in self.words[i : i + 3]]
        if not w:
            return 0
        if w[0] in _COMMAS:
            return 2 if len(w) > 1 and w[1] in _JOINERS else 1
        return 1 if w[0] in _JOINERS else 0

    def span(self, i: int, j: int) -> str:
        return self.text[self.tokens[i][1] : self.tokens[j - 1][2]]

    def item_right(self, i: int, kind: str, size: int) -> tuple[int, int] | None:
        """The item starting at token i (after a determiner), of the given kind."""
        n = len(self.words)
        while i < n and self.words[i].casefold() in _DETERMINERS:
            i += 1
        if i >= n:
            return None
        if kind == "number":
            return (i, i + 1) if _number(self.words[i]) is not None else None
        if kind == "name":
            j = i
            while j < n and (
                self.words[j][:1].isupper()
                or (j > i and self.words[j] in _INNER and j + 1 < n and self.words[j + 1][:1].isupper())
            ):
                j += 1
            if j == i or self.words[i:j] == ["I"]:
                return None
            if j + 1 < n and self.words[j] == "," and re.fullmatch(r"[A-Z]{2}", self.words[j + 1]):
                j += 2  # "Tulum, QR"
            return i, j
        j = min(n, i + size)
        if j - i < size or any(w.casefold() in _FUNCTION or not re.match(r"\w", w) for w in self.words[i:j]):
            return None
        return i, j

    def item_left(self, j: int, kind: str, size: int) -> tuple[int, int] | None:
        """The item ending just before token j."""
        if j <= 0:
            return None
        if kind == "number":
            if j >= 2 and self.unit(j - 1) is not None and _number(self.words[j - 2]) is not None:
                return j - 2, j - 1  # "0 meters"
            return (j - 1, j) if _number(self.words[j - 1]) is not None else None
        if kind == "name":
            i = j
            if i >= 3 and re.fullmatch(r"[A-Z]{2}", self.words[i - 1]) and self.words[i - 2] == ",":
                i -= 2
            end = i
            while i > 0 and (self.words[i - 1][:1].isupper() or (i < end and self.words[i - 1] in _INNER)):
                i -= 1
            while i < end and self.words[i] in _INNER:
                i += 1
            return (i, j) if i < end else None
        i = j - size
        if i < 0 or any(w.casefold() in _FUNCTION or not re.match(r"\w", w) for w in self.words[i:j]):
            return None
        return i, j

    def unit(self, j: int) -> str | None:
        """The word after a number (its unit), if any."""
        word = self.words[j] if j < len(self.words) else ""
        if re.match(r"[^\W\d_]", word) and word.casefold() not in _JOINERS | _FUNCTION:
            return stem(self.words[j])
        return None


def _find(lst: _List, core: str | float) -> tuple[int, int, str] | None:
    """Where the value stands among the tokens, and its kind."""
    if isinstance(core, (int, float)):
        for i, w in enumerate(lst.words):
            if _number(w) == float(core):
                return i, i + 1, "number"
        return None
    folded = core.casefold()
    for i in range(len(lst.words)):
        for j in range(i + 1, min(len(lst.words), i + 12) + 1):
            if lst.span(i, j).casefold() == folded:
                first = lst.words[i]
                if first[:1].isupper() and not _CJK.match(first):
                    if j + 1 < len(lst.words) and lst.words[j] == "," and re.fullmatch(r"[A-Z]{2}", lst.words[j + 1]):
                        return i, j + 2, "name"  # "Tulum, QR": the code belongs to the name
                    return i, j, "name"
                return i, j, "words"
    return None


def _region(value: str | float) -> bool:
    return isinstance(value, str) and value.strip().casefold() in regions()


def siblings(core: str | float, text: str) -> list[str | float]:
    """The other items of the list `core` is an item of in `text` (in order; none if it is in no
    list)."""
    lst = _List(text)
    found = _find(lst, core)
    if found is None:
        return []
    i, j, kind = found
    size = j - i
    if i > 0 and lst.words[i - 1].casefold() in _RANGE:
        return []  # "between 5 and 10": a range, not a list
    unit = lst.unit(j) if kind == "number" else None

    def same_unit(end: int) -> bool:
        other = lst.unit(end)
        return unit is None or other is None or other == unit

    def value(a: int, b: int) -> str | float:
        if kind == "number":
            n = _number(lst.words[a])
            return int(n) if n is not None and n.is_integer() else (n or 0.0)
        return lst.span(a, b)

    before = lst.words[i - 1].casefold() if i > 0 else None
    after = lst.words[j].casefold() if j < len(lst.words) else None

    def ends(b: int) -> bool:
        """An item ends where the list goes on or the sentence does not ("Python and Java", "water
        and iron at sea level"), not inside a phrase ("a deluxe room and would like")."""
        if kind == "number" or b >= len(lst.words) or lst.separator(b) or _CJK.match(lst.words[b]):
            return True  # (Chinese lists are marked by 、 and 和, and end before a particle: 广州的)
        word = lst.words[b].casefold()
        return not re.match(r"\w", word) or word in _FUNCTION or word == after

    def compound(a: int, b: int) -> bool:
        """An item that is the start or end of a longer one ("London to New York and Paris to Rome":
        Paris stands where London does, not where New York does)."""
        return (
            b < len(lst.words) and before is not None and lst.words[b].casefold() == before and not lst.separator(b)
        ) or (a > 0 and after is not None and lst.words[a - 1].casefold() == after and not lst.separator(a - 1))

    out: list[str | float] = []
    pos = j
    while len(out) < 8:  # to the right
        sep = lst.separator(pos)
        if not sep:
            break
        item = lst.item_right(pos + sep, kind, size)
        if item is None or (kind == "number" and not same_unit(item[1])) or compound(*item) or not ends(item[1]):
            break
        out.append(value(*item))
        pos = item[1]
    left: list[str | float] = []
    pos = i
    while len(left) < 8:  # to the left
        sep = 2 if pos >= 2 and lst.separator(pos - 2) == 2 else 1 if pos >= 1 and lst.separator(pos - 1) == 1 else 0
        if not sep:
            break
        item = lst.item_left(pos - sep, kind, size)
        if item is None or (kind == "number" and not same_unit(item[1])) or compound(*item):
            break
        left.insert(0, value(*item))
        pos = item[0]
    seq = [*left, core, *out]
    if kind == "name":  # "San Francisco, California": the state is San Francisco's, not a further item
        seq = [v for k, v in enumerate(seq) if k == 0 or not _region(v) or _region(seq[k - 1])]
    items = [v for v in seq if v != core]
    if kind == "name" and lst.span(i, j) != core:  # the value has no ", QR" after it: nor have its siblings
        items = [re.sub(r", [A-Z]{2}$", "", v) if isinstance(v, str) else v for v in items]
    return items
