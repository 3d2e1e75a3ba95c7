"""Sensitive information in text: where it is and what it is.

Each detector finds candidates with a pattern and keeps only those that validate: phone numbers
through libphonenumber (`phonenumbers`) or by their shape where the text says they are phone
numbers, US social security numbers by the ranges that are issued (`python-stdnum`), card numbers by the Luhn checksum, IBANs by their
mod-97 check (both via `python-stdnum`), Chinese resident ID numbers by their ISO 7064 MOD 11-2
check digit and birth date, IP addresses by the standard library. Operators add their own regexes.

Opt-in (not in the defaults, because names are ambiguous): Chinese personal names from jieba's
part-of-speech tagger (words tagged `nr`, 2-4 characters), and Chinese postal addresses (an
administrative part — province, city, district or county — followed by a street, road or village
and optional numbers). English street addresses (US, British, Canadian) by pyap, in the defaults.
English person names (`person`, opt-in) by a span classifier shipped with the package that weighs,
among its features, what spaCy's small English pipeline (installed as a package) calls each span.
"""

from __future__ import annotations

import functools
import ipaddress
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import phonenumbers
import regex
from stdnum import iban as stdnum_iban
from stdnum import luhn
from stdnum.us import ssn as stdnum_ssn

from ..errors import InvalidInput
from ..knowledge.text import CJK

_CJK = re.compile(f"[{CJK}]")

TYPES = ("email", "phone", "credit_card", "iban", "cn_id", "us_ssn", "address", "ip_address", "url", "secret")
OPTIONAL_TYPES = ("cn_name", "cn_address", "person")  # opt-in per guardrail
ALL_TYPES = TYPES + OPTIONAL_TYPES


@dataclass(frozen=True)
class Span:
    type: str
    start: int
    end: int
    text: str


# Boundaries are ASCII on purpose: in "邮箱ada@x.com" the Chinese character is a word character
# for \b, yet the address starts right after it.
_L = r"(?<![A-Za-z0-9_])"
_R = r"(?![A-Za-z0-9_])"
_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(?![A-Za-z0-9-])"
)
_CARD = re.compile(r"(?<![\d-])(?:\d[ -]?){11,18}\d(?![\d-])")
_IBAN = re.compile(_L + r"[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]){11,30}" + _R)
_CN_ID = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.]|\.\d)")
_IPV6 = re.compile(
    r"(?<![A-Za-z0-9_:])(?:[0-9A-Fa-f]{1,4}:){2,7}[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{1,4})*(?![A-Za-z0-9_:])"
)
_URL = re.compile(_L + r"(?:https?://|www\.)[^\s<>\"'，。！？、）】]+[^\s<>\"'.,;:!?，。！？、）】]", re.I)
_SECRETS = [
    re.compile(_L + r"sk-(?:proj-|ant-)?[A-Za-z0-9_-]{20,}"),  # OpenAI / Anthropic style
    re.compile(_L + r"(?:AKIA|ASIA)[0-9A-Z]{16}" + _R),  # AWS access key id
    re.compile(_L + r"gh[pousr]_[A-Za-z0-9]{36,}" + _R),  # GitHub tokens
    re.compile(_L + r"xox[abprs]-[A-Za-z0-9-]{10,}"),  # Slack
    re.compile(_L + r"AIza[0-9A-Za-z_-]{35}" + _R),  # Google API key
    re.compile(_L + r"eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"),  # JWT
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----"),
    # key = value where the name says secret
    re.compile(
        r"(?i)"
        + _L
        + r"(?:api[_-]?key|secret|token|passw(?:or)?d|access[_-]?key)"
        + _R
        + r"\s*[:=]\s*[\"']?([A-Za-z0-9_\-/+=]{12,})"
    ),
]


_TOKEN = re.compile(r"(?<![A-Za-z0-9_/+=-])[A-Za-z0-9_\-]{20,}(?![A-Za-z0-9_/+=-])")


def _random_token(s: str) -> bool:
    """A long run of mixed-case letters and digits that looks random (high entropy): an access
    token or a password rather than a word, a number or a slug."""
    if not (re.search(r"[a-z]", s) and re.search(r"[A-Z]", s) and re.search(r"\d", s)):
        return False  # letters only is far more often a long CamelCase name than a secret
    counts = {c: s.count(c) for c in set(s)}
    entropy = -sum(n / len(s) * math.log2(n / len(s)) for n in counts.values())
    return entropy >= 3.8


def _valid_card(s: str) -> bool:
    """Luhn-valid, and of a length its issuer uses: 16-19 digits for any card; shorter only with
    the prefixes of cards that are shorter (Amex 15, Diners 14, Maestro from 12) — a random
    12-digit order number passes Luhn one time in ten."""
    digits = re.sub(r"\D", "", s)
    if not (12 <= len(digits) <= 19) or len(set(digits)) == 1 or not luhn.is_valid(digits):
        return False
    if len(digits) >= 16:
        return True
    if len(digits) == 15:
        return digits[:2] in ("34", "37") or digits[:4] in ("1800", "2131")  # Amex, old JCB
    if len(digits) == 14:
        return digits[:2] in ("30", "36", "38", "39")
    if len(digits) == 13 and digits[0] == "4":  # early Visa
        return True
    return digits[:2] == "50" or "56" <= digits[:2] <= "69"  # Maestro


def _valid_iban(s: str) -> bool:
    return stdnum_iban.is_valid(s.replace(" ", ""))


def _valid_cn_id(s: str) -> bool:
    s = s.upper()
    try:
        born = date(int(s[6:10]), int(s[10:12]), int(s[12:14]))
    except ValueError:
        return False
    total = sum(int(d) * w for d, w in zip(s[:17], (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)))
    return 1900 <= born.year <= date.today().year and "10X98765432"[total % 11] == s[17]  # ISO 7064 MOD 11-2


def _valid_ip(s: str) -> bool:
    try:
        ipaddress.ip_address(s)
    except ValueError:
        return False
    return True


def _regex(kind: str, pattern: re.Pattern, valid: Callable[[str], bool] | None = None, group: int = 0):
    def find(text: str) -> list[Span]:
        out = []
        for m in pattern.finditer(text):
            start, end = m.span(group)
            if valid is None or valid(text[start:end]):
                out.append(Span(kind, start, end, text[start:end]))
        return out

    return find


PHONE_REGIONS = ("CN", "US", "GB")
# A number written the way phone numbers are: an optional +country code, 6-15 digits in groups
# (spaces, dots, dashes, slashes, an area code in parentheses), an optional extension.
_PHONE_SHAPE = re.compile(
    r"(?<![\w+.,/-])(?:\+|00)?(?:\(\d{1,5}\)[ .-]?)?\d{1,8}(?:[ .\-/]\(?\d{1,8}\)?){0,6}"
    r"(?:[ ,]*(?:x|ext\.?|extension|#)[ ]?\d{1,6})?(?![\w@]|[.,/-]\d)",
    re.I,
)
# Words before a number that say it is one to call, and labels after it ("555 0199 office").
_PHONE_CUE = re.compile(
    r"(?:\b(?:call(?:ed|ing)?|phone|tel|telephone|mobile|cell(?:phone)?|fax|contact|reach|text me|sms|"
    r"whatsapp|dial|hotline|ring|registered|messages? to|texts? to)\b|电话|手机|联系|致电|传真|热线|拨打|短信)",
    re.I,
)
_PHONE_LABEL = re.compile(r"^\W{0,3}(?:office|fax|mobile|cell|desk|home|work|phone|tel)\b", re.I)
_PHONE_FIELD = re.compile(r"\b(?:office|desk|home|work|direct|main|cell)\s*(?:line|no\.?|number)?\s*[:：]\s*$", re.I)
_THOUSANDS = re.compile(r"^\d{1,3}(?:([ ,.])\d{3})(?:\1\d{3})*$")  # 1 400 000, 12,345,678
_DATE_SHAPE = re.compile(r"^\d{1,4}([-/.])\d{1,2}\1\d{1,4}$|^\d{1,2}:\d{2}")


_DIGIT_RUN = re.compile(r"(?:\+|\b00)?\d[\d\s().\-/–]*\d")
_SPACE = re.compile(r"\s")
_DOTTED_QUAD = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")


def _widen(text: str, start: int, end: int, reach: int) -> tuple[int, int]:
    """`reach` characters each side of text[start:end], out to whole words, and no further than the
    nearest Chinese character (one is kept: the matcher reads the character next to a number)."""
    a, b = max(0, start - reach), min(len(text), end + reach)
    while a > 0 and a > start - 2 * reach and not text[a - 1].isspace():
        a -= 1
    while b < len(text) and b < end + 2 * reach and not text[b].isspace():
        b += 1
    before = [x.start() for x in _CJK.finditer(text, a, start)]
    after = _CJK.search(text, end, b)
    return (before[-1] if before else a), (after.end() if after else b)


def _digit_stretches(text: str, reach: int = 24) -> list[tuple[int, int, bool]]:
    """Stretches of `text` around runs holding 5 or more digits (a phone number's shortest; not an
    IPv4 address), widened to whitespace `reach` characters out and merged — the rest of a text
    cannot hold a number —, each with whether all its runs are international (+ or 00: one region
    reads them as well as every region)."""
    out: list[list] = []
    for m in _DIGIT_RUN.finditer(text):
        run = m.group()
        if sum(c.isdigit() for c in run) < 5 or _DOTTED_QUAD.fullmatch(run.strip()):
            continue
        international = run.startswith(("+", "00"))
        a, b = _widen(text, m.start(), m.end(), reach)
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
            out[-1][2] = out[-1][2] and international
        else:
            out.append([a, b, international])
    return [(a, b, i) for a, b, i in out]


def _phones(text: str, regions: tuple[str, ...] = PHONE_REGIONS) -> list[Span]:
    """Phone numbers as people write them. Numbers libphonenumber finds valid (international ones
    anywhere, national ones of `regions`); and any number shaped like a phone number — with a
    country code, or 10 or more digits in groups, or 6 or more where a word near it says it is one
    to call ("call me at", "Fax:", "电话") — whether or not its area code is assigned."""
    found: dict[tuple[int, int], Span] = {}
    for a, b, international in _digit_stretches(text):  # libphonenumber reads only where a number may be
        piece = text[a:b]
        # one region reads an international number; a number in Chinese text is read as Chinese (a
        # foreign national number there is still found by its shape below)
        chinese = "CN" in regions and _CJK.search(piece)
        for region in regions[:1] if international else ("CN",) if chinese else regions:
            for m in phonenumbers.PhoneNumberMatcher(piece, region, leniency=phonenumbers.Leniency.VALID):
                found.setdefault((a + m.start, a + m.end), Span("phone", a + m.start, a + m.end, m.raw_string))
    for shape in _PHONE_SHAPE.finditer(text):
        raw = shape.group().strip(" ,")
        start = shape.start() + (len(shape.group()) - len(shape.group().lstrip(" ,")))
        digits = re.sub(r"\D", "", re.split(r"(?i)x|ext|#", raw)[0])
        if not 6 <= len(digits) <= 15 or _DATE_SHAPE.match(raw) or re.fullmatch(r"\d+(\.\d+)?", raw):
            continue
        grouped = bool(re.search(r"[ .\-/()]", raw)) and not _THOUSANDS.match(raw)
        international = raw.startswith(("+", "00"))
        before = text[max(0, start - 40) : start]
        cued = _PHONE_CUE.search(before) or _PHONE_FIELD.search(before) or _PHONE_LABEL.match(text[start + len(raw) :])
        if (international and len(digits) >= 8) or (grouped and len(digits) >= 10) or cued:
            if not any(s.start <= start < s.end for s in found.values()):
                found[(start, start + len(raw))] = Span("phone", start, start + len(raw), raw)
    return list(found.values())


_SSN = re.compile(r"(?<![\d-])\d{3}([- ])\d{2}\1\d{4}(?![\d-])|(?<![\d-])\d{9}(?![\d-])")
_SSN_CUE = re.compile(r"\b(?:ssn|social security|taxpayer|tin)\b", re.I)


def _ssns(text: str) -> list[Span]:
    """US social security numbers: 123-45-6789 (or spaced) whose area, group and serial can be
    issued; nine bare digits only where the text says SSN or social security."""
    out = []
    for m in _SSN.finditer(text):
        raw = m.group()
        if not stdnum_ssn.is_valid(raw.replace(" ", "-")):
            continue
        if raw.isdigit() and not _SSN_CUE.search(text[max(0, m.start() - 40) : m.start()]):
            continue
        out.append(Span("us_ssn", m.start(), m.end(), raw))
    return out


# Where an English street address may be: a street word, or a US ZIP / British / Canadian postcode.
_ADDRESS_ANCHOR = re.compile(
    r"\b(?:street|st|road|rd|avenue|ave|lane|ln|drive|dr|boulevard|blvd|way|court|ct|place|pl|terrace|"
    r"close|crescent|highway|hwy|parkway|pkwy|square|sq|circle|trail|row|walk|box)\b\.?|"
    r"\b[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}\b|\b[A-Z]\d[A-Z] ?\d[A-Z]\d\b|\b\d{5}(?:-\d{4})?\b",
    re.I,
)
# A street line on its own: a house number, one to four capitalised words, a street word.
_STREET_LINE = re.compile(
    r"(?<![\w,.])\d{1,6}[A-Za-z]?,? (?:[A-Z][\w'’.-]*\.? ){1,4}(?:Street|St|Road|Rd|Avenue|Ave|Lane|Ln|Drive|Dr|"
    r"Boulevard|Blvd|Way|Court|Ct|Place|Pl|Terrace|Close|Crescent|Highway|Hwy|Parkway|Pkwy|Square|Circle|Trail)"
    r"\b\.?"
)
ADDRESS_WINDOWS = 20  # at most this many stretches of a text are read for addresses: bounded work
ADDRESS_REACH = 120  # characters each side of an anchor


def _addresses(text: str) -> list[Span]:
    """English street addresses (US, British, Canadian) found by pyap, and street lines on their own
    ("4652 Parkdale Ave"), read only around the words and postcodes an address holds, in at most
    ADDRESS_WINDOWS stretches of the text."""
    windows: list[list[int]] = []
    for m in _ADDRESS_ANCHOR.finditer(text):
        start, end = max(0, m.start() - ADDRESS_REACH), min(len(text), m.end() + ADDRESS_REACH)
        if windows and start <= windows[-1][1]:
            windows[-1][1] = end
        elif len(windows) >= ADDRESS_WINDOWS:
            break
        else:
            windows.append([start, end])
    if not windows:
        return []
    import pyap

    found: dict[tuple[int, int], Span] = {}
    for start, end in windows:
        part = text[start:end][: 4 * ADDRESS_REACH]
        hits = [(a.match_start, a.match_end) for c in ("US", "GB", "CA") for a in pyap.parse(part, country=c)]
        hits += [m.span() for m in _STREET_LINE.finditer(part)]  # a street line with no town
        for h0, h1 in sorted(hits, key=lambda h: h[0] - h[1]):  # longest first
            a0, a1 = start + h0, start + h1
            if not any(k[0] < a1 and a0 < k[1] for k in found):
                found[(a0, a1)] = Span("address", a0, a1, text[a0:a1].rstrip("."))
    return list(found.values())


_HAN = re.compile(r"^[\u4e00-\u9fff·]{2,5}$")


def _cn_names(text: str) -> list[Span]:
    """Words jieba's tagger marks as personal names (nr), 2-4 Chinese characters."""
    if not re.search(r"[\u4e00-\u9fff]", text):
        return []
    import jieba.posseg

    spans, pos = [], 0
    for w in jieba.posseg.cut(text):
        start = pos
        pos += len(w.word)
        # 谢谢 is tagged as a name (谢 is a surname): doubled characters are not taken as names
        if (
            w.flag == "nr"
            and _HAN.match(w.word)
            and len(w.word) <= 4
            and not (len(w.word) == 2 and w.word[0] == w.word[1])
        ):
            spans.append(Span("cn_name", start, pos, w.word))
    return spans


def _cn_addresses(text: str) -> list[Span]:
    """Address-shaped runs, starting at their first place name (jieba's `ns`), so that "寄到" or
    "我住在" before the address is not part of it."""
    import jieba.posseg

    spans = []
    for m in _CN_ADDRESS.finditer(text):
        pos = m.start()
        for w in jieba.posseg.cut(m.group()):
            if w.flag == "ns" or w.word.endswith(("省", "自治区", "特别行政区", "市")):
                spans.append(Span("cn_address", pos, m.end(), text[pos : m.end()]))
                break
            pos += len(w.word)
    return spans


_ADMIN = r"[\u4e00-\u9fff]{1,8}?(?:省|自治区|特别行政区|市|自治州|州|盟|地区|区|县|旗|镇|乡)"
_CN_ADDRESS = re.compile(
    rf"(?:{_ADMIN}){{1,4}}"  # 广东省深圳市南山区
    r"[\u4e00-\u9fff0-9]{1,12}?(?:路|街|大道|大街|道|巷|胡同|村|弄)"  # 科技园路
    r"(?:[0-9０-９A-Za-z\-]{1,8}(?:号|座|栋|幢|楼|层|室|单元)|[\u4e00-\u9fff]{2,8}(?:大厦|小区|花园|公寓))*"
)


def _people(text: str) -> list[Span]:
    """English person names (names.py: a trained span classifier), in at most PEOPLE_CHARS
    characters' worth of stretches around capitalised words: bounded work on long texts."""
    from .names import shared

    return [Span("person", a, b, text[a:b]) for a, b, _ in shared().spans(text[:PEOPLE_CHARS])]


PEOPLE_CHARS = 20000


DETECTORS: dict[str, Callable[[str], list[Span]]] = {
    "email": _regex("email", _EMAIL),
    "phone": _phones,
    "credit_card": _regex("credit_card", _CARD, _valid_card),
    "iban": _regex("iban", _IBAN, _valid_iban),
    "cn_id": _regex("cn_id", _CN_ID, _valid_cn_id),
    "ip_address": lambda t: _regex("ip_address", _IPV4, _valid_ip)(t) + _regex("ip_address", _IPV6, _valid_ip)(t),
    "url": _regex("url", _URL),
    "secret": lambda t: (
        [s for p in _SECRETS for s in _regex("secret", p, group=1 if p.groups else 0)(t)]
        + _regex("secret", _TOKEN, _random_token)(t)
    ),
    "cn_name": _cn_names,
    "cn_address": _cn_addresses,
    "us_ssn": _ssns,
    "address": _addresses,
    "person": _people,
}


CUSTOM_TIMEOUT = 0.25  # seconds a caller's own pattern may search one text


@functools.lru_cache(maxsize=256)
def custom_pattern(pattern: str) -> regex.Pattern:
    """A guardrail's own pattern, compiled by `regex`, whose searches can be stopped (Python's `re`
    cannot: a pattern that backtracks without end would hold the request's thread for good)."""
    return regex.compile(pattern)


def custom_spans(name: str, pattern: str, text: str) -> list[Span]:
    try:
        found = custom_pattern(pattern).finditer(text, timeout=CUSTOM_TIMEOUT)
        return [Span(name, m.start(), m.end(), m.group()) for m in found]
    except TimeoutError:
        raise InvalidInput(
            f"the guardrail's regex {name!r} searched this text for over {CUSTOM_TIMEOUT} s (it backtracks "
            "without end on some texts): its owner should simplify it",
            param="guardrail",
        ) from None


def backtracks(pattern: str, budget: float = 0.05) -> bool:
    """Whether a pattern takes too long on texts that make a pattern with nested repeats backtrack
    without end ("(a|aa)+$" on "aaa…a!")."""
    probes = [
        "a" * 2000 + "!",
        "1" * 2000 + "x",
        " " * 2000 + "x",
        "ab" * 1000 + "!",
        "a1 -" * 500 + "!",
        "中" * 2000 + "!",
    ]
    try:
        for probe in probes:
            for _ in custom_pattern(pattern).finditer(probe, timeout=budget):
                pass
    except TimeoutError:
        return True
    return False


def detect(text: str, types: tuple[str, ...] | list[str] = TYPES, custom: dict[str, str] | None = None) -> list[Span]:
    """Every sensitive span, longest first where two overlap (a card number is not also a phone)."""
    spans: list[Span] = []
    for kind in types:
        spans.extend(DETECTORS[kind](text))
    for name, pattern in (custom or {}).items():
        spans.extend(custom_spans(name, pattern, text))
    spans.sort(key=lambda s: (s.start, -(s.end - s.start)))
    # Validated kinds win over looser ones on the same characters.
    rank = {
        "cn_id": 0,
        "us_ssn": 0,
        "credit_card": 1,
        "iban": 2,
        "secret": 3,
        "email": 4,
        "url": 5,
        "ip_address": 6,
        "phone": 7,
        "address": 8,
        "cn_address": 8,
        "cn_name": 9,
        "person": 9,
    }
    kept: list[Span] = []
    for s in sorted(spans, key=lambda s: (rank.get(s.type, 8), -(s.end - s.start), s.start)):
        if all(s.end <= k.start or s.start >= k.end for k in kept):
            kept.append(s)
    return sorted(kept, key=lambda s: s.start)


def mask(text: str, spans: list[Span]) -> str:
    """Each span replaced by its type in braces: {EMAIL}, {PHONE}…"""
    out, last = [], 0
    for s in sorted(spans, key=lambda s: s.start):
        if s.start < last:
            continue
        out.append(text[last : s.start])
        out.append("{" + s.type.upper() + "}")
        last = s.end
    out.append(text[last:])
    return "".join(out)
