"""Each hand-written attack pattern is searched only where the text holds one of the literal texts
its every match starts with: the patterns that fire must be those a full search finds."""

from __future__ import annotations

import json

from fmstack import evalsets
from fmstack.guardrails import attacks
from fmstack.knowledge.text import normalize


def test_literal_prefilters_find_what_a_full_search_finds():
    texts = []
    for path in sorted(evalsets.path("guardrails").glob("prompts*.jsonl")):
        texts += [json.loads(x)["text"] for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    assert len(texts) > 400
    fired = 0
    for text in texts:
        norm = normalize(text)
        full = [bool(p.search(norm)) for _, p, _ in attacks.PATTERNS]
        filtered = [
            (lits is None or any(x in norm for x in lits)) and bool(p.search(norm)) for _, p, lits in attacks.PATTERNS
        ]
        assert full == filtered, text
        fired += any(full)
    assert fired > 100  # the set exercises the patterns
    assert sum(lits is not None for _, _, lits in attacks.PATTERNS) > len(attacks.PATTERNS) // 2


def test_literals_of_a_pattern():
    assert attacks._literals(r"\b(ignore|disregard) (all )?previous") == ("disregard ", "ignore ")
    assert attacks._literals(r"(别管|不用管)[^。]{0,3}规则") == ("不用管", "别管")
    assert attacks._literals(r"(a|bc)d") is None  # too short to narrow anything
    assert attacks._literals(r"[a-z]+ mode") is None
