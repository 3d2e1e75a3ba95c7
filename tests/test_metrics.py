"""Every metric against its reference implementation (rouge-score, sacrebleu) or a hand-computed
case, in English and Chinese."""

from __future__ import annotations

import pytest
from rouge_score import rouge_scorer
from sacrebleu.metrics import BLEU, CHRF

from fmstack.evaluation import metrics as m

EN = [
    ("The cat sat on the mat near the door.", "A cat was sitting on the mat by the door."),
    ("Revenue grew 12 percent in the third quarter.", "Third-quarter revenue rose by 12 percent."),
]
ZH = [("我爱北京天安门", "我爱北京的天安门广场"), ("今天上海下雨了，气温二十度。", "上海今天有雨，气温约二十度。")]


@pytest.mark.parametrize("pred,ref", EN)
def test_rouge_english_equals_rouge_score(pred, ref):
    reference = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True).score(ref, pred)
    assert m.rouge(pred, ref) == {k: v.fmeasure for k, v in reference.items()}


def test_rouge_chinese_is_scored_by_character():
    assert rouge_scorer.RougeScorer(["rouge1"]).score("我爱上海", "我爱北京")["rouge1"].fmeasure == 0.0  # the problem
    got = m.rouge("我爱北京", "我爱上海")
    # 4 characters each, 2 shared; bigrams 我爱/爱北/北京 vs 我爱/爱上/上海: 1 of 3; LCS 我爱 = 2
    assert (
        got["rouge1"] == pytest.approx(0.5)
        and got["rouge2"] == pytest.approx(1 / 3)
        and got["rougeL"] == pytest.approx(0.5)
    )
    for pred, ref in ZH:  # the same as rouge-score given the characters as tokens
        reference = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], tokenizer=m.CJKTokenizer()).score(
            ref, pred
        )
        assert m.rouge(pred, ref) == {k: v.fmeasure for k, v in reference.items()}
    mixed = m.rouge("GPU 服务器 A100", "A100 GPU 服务器")
    assert mixed["rouge1"] == pytest.approx(1.0) and mixed["rougeL"] < 1.0


@pytest.mark.parametrize("pred,ref", EN + ZH)
def test_bleu_and_chrf_equal_sacrebleu(pred, ref):
    tok = "zh" if m.has_cjk(pred, ref) else "13a"
    assert m.bleu(pred, ref) == pytest.approx(
        BLEU(tokenize=tok, effective_order=True).sentence_score(pred, [ref]).score / 100
    )
    assert m.chrf(pred, ref) == pytest.approx(CHRF().sentence_score(pred, [ref]).score / 100)
    assert 0 < m.bleu(pred, ref) < 1


def test_corpus_bleu_equals_sacrebleu():
    preds, refs = [p for p, _ in EN], [r for _, r in EN]
    assert m.corpus_bleu(preds, refs) == pytest.approx(BLEU().corpus_score(preds, [refs]).score / 100)
    zh_preds, zh_refs = [p for p, _ in ZH], [r for _, r in ZH]
    assert m.corpus_bleu(zh_preds, zh_refs) == pytest.approx(
        BLEU(tokenize="zh").corpus_score(zh_preds, [zh_refs]).score / 100
    )


def test_exact_match_and_token_f1_by_hand():
    assert m.exact_match("The Eiffel Tower!", "eiffel tower") == 1.0
    assert m.exact_match("Eiffel", ["Louvre", "eiffel"]) == 1.0 and m.exact_match("Paris", "London") == 0.0
    assert m.token_f1("Paris France", "Paris") == pytest.approx(2 * 0.5 * 1 / 1.5)  # P 1/2, R 1/1
    assert m.exact_match("北京。", "北京") == 1.0
    assert m.token_f1("北京", "北京市") == pytest.approx(0.8)  # P 2/2, R 2/3
    assert m.token_f1("", "") == 1.0 and m.token_f1("x", "") == 0.0


def test_classification_by_hand():
    preds = ["pos", "pos", "neg", "neu", "neg"]
    golds = ["pos", "neg", "neg", "neu", "pos"]
    r = m.classification(preds, golds, ["pos", "neg", "neu"])
    assert r["accuracy"] == pytest.approx(3 / 5)
    # pos: P 1/2 R 1/2; neg: P 1/2 R 1/2; neu: P 1 R 1 -> macro P = R = (0.5 + 0.5 + 1) / 3
    assert r["precision"] == pytest.approx(2 / 3) and r["recall"] == pytest.approx(2 / 3)
    assert r["f1"] == pytest.approx(2 / 3) and r["labels"]["neu"]["support"] == 1


def test_embedding_metrics_with_the_bundled_model(fm):
    e = fm.models.embedding(None)
    assert m.embedding_similarity(e, "The cat sat on the mat.", "The cat sat on the mat.") == pytest.approx(
        1.0, abs=1e-4
    )
    related = m.embedding_similarity(e, "Revenue grew 12 percent.", "收入增长了百分之十二。")
    unrelated = m.embedding_similarity(e, "Revenue grew 12 percent.", "The cat sleeps on the sofa.")
    assert related > unrelated
    same = m.segment_score(e, EN[0][0], EN[0][0])
    assert same["f1"] == pytest.approx(1.0, abs=1e-4)
    close = m.segment_score(e, EN[1][0], EN[1][1])
    far = m.segment_score(e, EN[1][0], "我们明天去公园散步，然后吃午饭。")
    assert close["f1"] > far["f1"] and 0 <= far["precision"] <= 1
    assert m.segments("一二三四五六七八九十一二三四五六七八，好的。") == [
        "一二三四五六七八九十一二三四五六",
        "七八，",
        "好的。",
    ]


def test_segment_score_is_greedy_matching_by_hand(fm):
    import numpy as np

    e = fm.models.embedding(None)
    cand, ref = "The tower is tall. It is in Paris.", "The Eiffel Tower stands in Paris, and it is 330 metres tall."
    c, r = m.segments(cand), m.segments(ref)
    assert c == ["The tower is tall.", "It is in Paris."] and r == [
        "The Eiffel Tower stands in Paris,",
        "and it is 330 metres tall.",
    ]
    v = e.embed(c + r, input_type="query")  # one batch, as segment_score embeds (batches pad differently)
    vc, vr = v[: len(c)], v[len(c) :]
    sims = np.array([[float(a @ b) for b in vr] for a in vc])
    p, rec = sims.max(axis=1).mean(), sims.max(axis=0).mean()
    got = m.segment_score(e, cand, ref)
    assert got["precision"] == pytest.approx(p, abs=1e-5) and got["recall"] == pytest.approx(rec, abs=1e-5)
    assert got["f1"] == pytest.approx(2 * p * rec / (p + rec), abs=1e-5)
