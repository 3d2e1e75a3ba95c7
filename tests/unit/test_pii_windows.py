"""libphonenumber reads only the stretches of a text around digit runs (pii._digit_stretches): the
phone numbers found must be those it finds reading the whole text."""

from __future__ import annotations

import json

import pytest

from fmstack import evalsets
from fmstack.guardrails import pii

TEXTS = [
    "You can reach the desk on (555) 123-4567 x89.",
    "+44 20 7946 0958",
    "Please have the manager call me at +33 1.43.93.58.85 I'd like to join accounts.",
    "电话13812345678。预发布服务器10.0.0.12 上有草稿",
    "请拨打010-62751234或者+86 138 1234 5678联系我们。",
    "美国办公室电话 (415) 555-2671，分机 12。",
    "Call 415.555.2671 or 0044 20 7946 0958 ext. 12 tomorrow; the server is 10.0.0.12.",
    "Order 12345678 shipped on 2023-04-05; 1 400 000 people; version 3.10.12.",
]


def _whole(text: str) -> list[tuple[int, int, bool]]:
    return [(0, len(text), False)]


@pytest.mark.parametrize(
    "text",
    TEXTS
    + [json.loads(x)["text"] for x in open(evalsets.path("guardrails") / "pii.jsonl", encoding="utf-8") if x.strip()][
        :200
    ],
)
def test_phones_read_in_stretches_are_those_of_the_whole_text(text, monkeypatch):
    windowed = pii._phones(text)
    monkeypatch.setattr(pii, "_digit_stretches", _whole)
    key = lambda s: (s.start, s.end, s.text)
    assert sorted(windowed, key=key) == sorted(pii._phones(text), key=key)


def test_a_foreign_number_in_chinese_text_is_still_a_phone():
    """In Chinese text libphonenumber reads numbers as Chinese; a US or British national number there
    is found by its shape."""
    for text, number in (
        ("美国办公室电话 (415) 555-2671，分机 12。", "(415) 555-2671"),
        ("伦敦办公室：020 7946 0958", "020 7946 0958"),
    ):
        assert number in [s.text for s in pii.detect(text)], text
