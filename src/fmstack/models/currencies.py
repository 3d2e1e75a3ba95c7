"""Currencies by the names and symbols a request gives them, as ISO 4217 codes.

The names come from the Unicode CLDR data that Babel ships, for the currencies some country uses
today (about 150): the English name and its plural forms ("Swiss franc", "Swiss francs"), the
Simplified and Traditional Chinese names (瑞士法郎), the code itself and the symbols that stand for
one currency ("€", "HK$", "₹"). A bare word ("rupees", "francs") names a currency when only one
currency has it, or when it is the one most people mean (`PREFERRED`: "dollars" is USD). Such a
word that other currencies share, or that is an everyday English word ("real", "mark", "gold"),
does not say *which* currency (it is not among `specific_names`): "5 dollars" does not ground
"USD" the way "5 US dollars" does.
"""

from __future__ import annotations

import datetime
import functools
import re
import unicodedata
from collections import defaultdict

# the currency a bare word means where several have it (or it is an everyday word)
PREFERRED = {
    "dollar": "USD",
    "dollars": "USD",
    "pound": "GBP",
    "pounds": "GBP",
    "euro": "EUR",
    "euros": "EUR",
    "yen": "JPY",
    "yuan": "CNY",
    "rupee": "INR",
    "rupees": "INR",
    "won": "KRW",
    "ruble": "RUB",
    "rubles": "RUB",
    "rouble": "RUB",
    "roubles": "RUB",
    "franc": "CHF",
    "francs": "CHF",
    "peso": "MXN",
    "pesos": "MXN",
    "rand": "ZAR",
}
# names in everyday use that CLDR does not list
ALIASES = {
    "USD": ["u.s. dollar", "u.s. dollars", "american dollar", "american dollars", "us$", "美金"],
    "GBP": ["pound sterling", "pounds sterling", "sterling", "british pound sterling"],
    "CNY": ["renminbi", "rmb", "元人民币"],
    "JPY": ["日币", "日圆"],
    "HKD": ["港币"],
    "AUD": ["澳元", "澳币"],
    "CAD": ["加元", "加币"],
    "RUB": ["卢布"],
    "INR": ["卢比"],
    "KRW": ["韩币"],
}
# bare words that are currencies by their sense only here ("the euro"), not everyday English words
_CURRENCY_WORDS = {"euro", "euros", "yen", "yuan"}
_EVERYDAY = 3.0  # wordfreq's Zipf frequency from which a bare word is an everyday English word


@functools.cache
def table() -> tuple[dict[str, str], dict[str, list[str]]]:
    """Every name (case-folded) -> its code; and each code's names that say which currency it is."""
    from babel import Locale
    from babel.numbers import get_territory_currencies
    from wordfreq import zipf_frequency

    en, zh, zh_hant = Locale.parse("en"), Locale.parse("zh"), Locale.parse("zh_Hant")
    today = datetime.date.today()
    current: set[str] = set()
    for territory in en.territories:
        if isinstance(territory, str) and territory.isalpha():  # countries, not regions ("001")
            current.update(get_territory_currencies(territory, start_date=today, tender=True))
    plural = en._data["currency_names_plural"]
    names: dict[str, str] = {}
    specific: dict[str, set[str]] = defaultdict(set)
    bare: dict[str, set[str]] = defaultdict(set)
    for code in sorted(current):
        english = {en.currencies.get(code, code), *(plural[code].values() if code in plural else ())}
        for name in english:
            bare[name.split()[-1].casefold()].add(code)
        whole = [n for n in english if " " in n.strip()]  # "Swiss francs"; a bare "euros" is below
        for name in (*whole, zh.currencies.get(code), zh_hant.currencies.get(code), code, *ALIASES.get(code, ())):
            if name:
                names[name.casefold()] = code
                specific[code].add(name.casefold())
    for word, codes in bare.items():
        if word in names:
            continue
        shared = len(codes) > 1
        everyday = word not in _CURRENCY_WORDS and zipf_frequency(word, "en") >= _EVERYDAY
        chosen = PREFERRED.get(word) or (None if shared or everyday else next(iter(codes)))
        if chosen is None:
            continue
        names[word] = code = chosen
        if not shared and not everyday:
            specific[code].add(word)  # "zloty", "euros", "yen": only one currency is called that
    for word, code in PREFERRED.items():
        names.setdefault(word, code)
    return names, {code: sorted(ns, key=len, reverse=True) for code, ns in specific.items()}


def names() -> dict[str, str]:
    """Every name a currency goes by (case-folded), with its code."""
    return table()[0]


_CODE = re.compile(r"\s*[A-Za-z]{3}\s*")


def names_of(code: str) -> tuple[str, ...]:
    """Every name of the currency with this code, bare words included ("dollars" for USD). Only a
    three-letter value is looked up: CLDR's tables load on the first currency-like value."""
    return _by_code().get(code.strip().upper(), ()) if _CODE.fullmatch(code) else ()


@functools.cache
def _by_code() -> dict[str, tuple[str, ...]]:
    out: dict[str, list[str]] = defaultdict(list)
    for name, code in names().items():
        out[code].append(name)
    return {code: tuple(ns) for code, ns in out.items()}


def specific_names(code: str) -> list[str]:
    """The names that say it is this currency (for "EUR": "euro", "euros", "欧元" …; for "USD" not
    "dollars", which other currencies are called too)."""
    return table()[1].get(code.strip().upper(), []) if _CODE.fullmatch(code) else []


@functools.cache
def symbols() -> dict[str, str]:
    """Symbols that stand for one currency: "$" (USD, as most people mean it), "€", "HK$", "₹" …
    ("¥" is the yen's and the yuan's, so it names neither)."""
    from babel import Locale

    out: dict[str, set[str]] = defaultdict(set)
    for locale in ("en", "zh"):
        for code, symbol in Locale.parse(locale).currency_symbols.items():
            if code in table()[1] and any(unicodedata.category(ch) == "Sc" for ch in symbol):
                out[symbol].add(code)
    found = {symbol: next(iter(codes)) for symbol, codes in out.items() if len(codes) == 1}
    return {**found, "$": "USD"}


@functools.cache
def mention() -> re.Pattern:
    """Any currency name or symbol as a request writes it (match against case-folded text)."""
    cjk = re.compile(r"[^\x00-\x7f]")
    words = sorted(names(), key=len, reverse=True)
    marks = sorted(symbols(), key=len, reverse=True)
    return re.compile(
        "|".join(re.escape(n) if cjk.search(n) else rf"(?<!\w){re.escape(n)}(?!\w)" for n in words)
        + "|"
        + "|".join(rf"(?<![a-z]){re.escape(s.casefold())}" for s in marks)
    )


def code_of(mentioned: str) -> str | None:
    """The code of a name or symbol `mention()` found."""
    return names().get(mentioned.casefold()) or symbols().get(mentioned) or symbols().get(mentioned.upper())
