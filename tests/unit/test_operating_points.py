"""TPR at a fixed FPR and its interval; JSONL rows with a line separator inside a string."""

import json

import pytest

from fmstack.evaluation.metrics import wilson
from fmstack.guardrails.evaluation import load_jsonl, operating_points


def test_threshold_is_set_on_the_negatives():
    neg = [0.1 * i for i in range(100)]  # 0.0 .. 9.9
    pos = [9.5, 9.85, 10.0, 5.0]
    pts = operating_points(pos, neg, (0.01, 0.05))
    assert pts[0.01]["threshold"] == pytest.approx(9.8) and pts[0.01]["fpr"] == pytest.approx(0.01)
    assert pts[0.01]["tpr"] == 0.5  # 9.85 and 10.0 are above 9.8
    assert pts[0.05]["threshold"] == pytest.approx(9.4) and pts[0.05]["tpr"] == 0.75


def test_wilson_interval():
    low, high = wilson(90, 100)
    assert 0.82 < low < 0.84 and 0.94 < high < 0.95
    assert wilson(0, 10)[0] == 0.0 and wilson(10, 10)[1] == 1.0


def test_rows_split_on_newlines_only(tmp_path):
    p = tmp_path / "x.jsonl"
    p.write_text(
        json.dumps({"text": "a\u2028b"}, ensure_ascii=False) + "\n" + json.dumps({"text": "c"}) + "\n", encoding="utf-8"
    )
    assert [r["text"] for r in load_jsonl(p)] == ["a\u2028b", "c"]
