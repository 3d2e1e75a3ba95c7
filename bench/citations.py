"""Does tuning teach the bundled model to cite? Answering from numbered passages with [n] markers,
in the question's language, base vs tuned on held-out questions.

    python bench/citations.py                        # make the data, tune (~25 min on 2 cores), evaluate
    python bench/citations.py --train 320 --epochs 2
    python bench/citations.py --model ft:smollm2:cite:1234abcd   # evaluate an already tuned model

The data: short documents written here from templates about made-up entities (rivers, companies,
people, products, mountains, books — names no model can know), English and Chinese. Each example
is the product's own RAG prompt (knowledge/rag.py: the numbered passages in the system message,
the question as the user's turn) with two to four passages, one of which holds the answer; the answer
is the sentence that answers, with the passage's marker ("… long [2].", "…公里[2]。"). One in ten
has no passage that answers: the answer is the "I don't know" of knowledge/rag.py.

Held out: the test questions are about other kinds of entity (planets, bridges, software, lakes),
with sentence and question templates the training never saw — the tuned model has to have learned
to cite, not the templates.

Figures, on the answerable test questions, base vs tuned, each with a 95% bootstrap interval and
the paired difference's interval:
- marker rate: the answer carries at least one valid [n];
- citation correctness: it cites the passage that holds the answer and no other;
- token F1 and ROUGE-L of the answer (markers removed) against the reference sentence;
and, on the unanswerable ones, how often the answer says it does not know.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from fmstack import Fmstack
from fmstack.evaluation.metrics import rouge, token_f1
from fmstack.evaluation.runner import bootstrap_ci
from fmstack.knowledge.rag import DONT_KNOW, DONT_KNOW_ZH, context_message, dont_know, strip_marks

SYLLABLES = "ka lo mi ra ne to su vi da pe zo lu ha ri no be sa ku fe ti mo ga".split()
ZH_CHARS = "安宁泽川云岚青石远桐杉澜霖曜汐岑瑶湘黎沅珂铭舟"
CITIES = ["Varsel", "Oruna", "Kestrel Bay", "Talmora", "Brinmoor", "Quella", "Dunhaven", "Saroth"]
CITIES_ZH = ["瓦塞尔", "奥鲁纳", "红隼湾", "塔尔莫拉", "布林莫尔", "奎拉", "敦黑文", "萨罗斯"]


def en_name(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()


def zh_name(rng: random.Random) -> str:
    return "".join(rng.choice(ZH_CHARS) for _ in range(2))


@dataclass
class Domain:
    """One kind of entity: how its fact is stated and asked, in English and Chinese, and a filler
    sentence so passages are more than the fact."""

    fact_en: str
    ask_en: list[str]
    fact_zh: str
    ask_zh: list[str]
    filler_en: str
    filler_zh: str
    value: str  # number | year | city


DOMAINS_TRAIN = {
    "river": Domain(
        "The {n} River is {v} kilometres long.",
        ["How long is the {n} River?", "What is the length of the {n} River?"],
        "{n}河全长{v}公里。",
        ["{n}河有多长？", "{n}河的长度是多少？"],
        "The {n} River flows through farmland and small towns.",
        "{n}河流经农田和小镇。",
        "number",
    ),
    "company": Domain(
        "{n} Systems was founded in {v}.",
        ["When was {n} Systems founded?", "In what year was {n} Systems founded?"],
        "{n}科技公司成立于{v}年。",
        ["{n}科技公司是哪一年成立的？", "{n}科技公司成立于哪一年？"],
        "{n} Systems makes software for hospitals.",
        "{n}科技公司为医院开发软件。",
        "year",
    ),
    "person": Domain(
        "{n} was born in {v}.",
        ["Where was {n} born?", "In which city was {n} born?"],
        "{n}出生于{v}。",
        ["{n}出生在哪里？", "{n}出生在哪座城市？"],
        "{n} later worked as a teacher of mathematics.",
        "{n}后来成为一名数学老师。",
        "city",
    ),
    "product": Domain(
        "The {n} phone costs {v} dollars.",
        ["How much does the {n} phone cost?", "What is the price of the {n} phone?"],
        "{n}手机的售价为{v}元。",
        ["{n}手机多少钱？", "{n}手机的售价是多少？"],
        "The {n} phone has a large screen and two cameras.",
        "{n}手机有一块大屏幕和两个摄像头。",
        "number",
    ),
    "mountain": Domain(
        "Mount {n} is {v} metres high.",
        ["How high is Mount {n}?", "What is the height of Mount {n}?"],
        "{n}山海拔{v}米。",
        ["{n}山有多高？", "{n}山的海拔是多少？"],
        "Mount {n} is covered with snow for most of the year.",
        "{n}山一年中大部分时间被积雪覆盖。",
        "number",
    ),
    "book": Domain(
        "The novel {n} was published in {v}.",
        ["When was the novel {n} published?", "In what year did {n} come out?"],
        "小说《{n}》出版于{v}年。",
        ["小说《{n}》是哪一年出版的？", "《{n}》哪年出版？"],
        "The novel {n} tells the story of two sisters.",
        "小说《{n}》讲述了两姐妹的故事。",
        "year",
    ),
}
DOMAINS_TEST = {
    "planet": Domain(
        "The planet {n} has {v} moons.",
        ["How many moons does the planet {n} have?"],
        "{n}星有{v}颗卫星。",
        ["{n}星有几颗卫星？"],
        "The planet {n} has a thin atmosphere of nitrogen.",
        "{n}星有一层稀薄的氮气大气。",
        "number",
    ),
    "bridge": Domain(
        "The {n} Bridge opened to traffic in {v}.",
        ["When did the {n} Bridge open?"],
        "{n}大桥于{v}年建成通车。",
        ["{n}大桥是什么时候通车的？"],
        "The {n} Bridge crosses a wide bay.",
        "{n}大桥横跨一个宽阔的海湾。",
        "year",
    ),
    "software": Domain(
        "Version {v} of {n}DB added full-text search.",
        ["Which version of {n}DB added full-text search?"],
        "{n}数据库的{v}版本加入了全文检索。",
        ["{n}数据库的哪个版本加入了全文检索？"],
        "{n}DB stores data in a single file.",
        "{n}数据库把数据存放在一个文件里。",
        "number",
    ),
    "lake": Domain(
        "Lake {n} lies near the city of {v}.",
        ["Which city is Lake {n} near?"],
        "{n}湖位于{v}市附近。",
        ["{n}湖在哪座城市附近？"],
        "Lake {n} freezes over every winter.",
        "{n}湖每年冬天都会结冰。",
        "city",
    ),
}


def _value(kind: str, rng: random.Random, zh: bool) -> str:
    if kind == "year":
        return str(rng.randint(1850, 2020))
    if kind == "city":
        return rng.choice(CITIES_ZH if zh else CITIES)
    return str(rng.randint(12, 4800))


@dataclass
class Passage:
    text: str
    title: str
    source: str = ""
    page: int | None = None
    heading: str = ""


def example(domains: dict[str, Domain], rng: random.Random, *, unanswerable: bool) -> dict:
    zh = rng.random() < 0.5
    d = domains[rng.choice(sorted(domains))]
    k = rng.randint(2, 4)  # passages shown
    names: list[str] = []
    while len(names) < k + 1:
        name = zh_name(rng) if zh else en_name(rng)
        if name not in names:
            names.append(name)
    ents = [(n, _value(d.value, rng, zh)) for n in names]
    asked, others = ents[0], ents[1:]
    fact = (d.fact_zh if zh else d.fact_en).format(n=asked[0], v=asked[1])
    filler = d.filler_zh if zh else d.filler_en
    shown = others[:k] if unanswerable else [asked, *others[: k - 1]]
    rng.shuffle(shown)
    passages = []
    for n, v in shown:
        sentences = [(d.fact_zh if zh else d.fact_en).format(n=n, v=v), filler.format(n=n)]
        rng.shuffle(sentences)
        passages.append(Passage(("" if zh else " ").join(sentences), title=f"{n}"))
    question = rng.choice(d.ask_zh if zh else d.ask_en).format(n=asked[0])
    system = context_message(passages, question).content  # type: ignore[arg-type]
    gold = None if unanswerable else 1 + [p[0] for p in shown].index(asked[0])
    if gold is None:
        answer = dont_know(question)
    elif zh:
        answer = fact.rstrip("。") + f"[{gold}]。"
    else:
        answer = fact.rstrip(".") + f" [{gold}]."
    return {
        "messages": [
            {"role": "system", "content": system},
            {"role": "user", "content": question},
            {"role": "assistant", "content": answer},
        ],
        "gold": gold,
        "reference": fact if gold else answer,
        "language": "zh" if zh else "en",
        "k": len(passages),
    }


def make(domains: dict[str, Domain], n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    return [example(domains, rng, unanswerable=rng.random() < 0.1) for _ in range(n)]


_MARK = re.compile(r"\[(\d{1,3})\]")


def score(answer: str, item: dict) -> dict:
    marks = {int(m) for m in _MARK.findall(answer) if 1 <= int(m) <= item["k"]}
    if item["gold"] is None:
        said = answer.strip()
        knows_not = (
            said.startswith((DONT_KNOW[:12], DONT_KNOW_ZH[:4])) or "don't know" in said.lower() or "不知道" in said
        )
        return {"abstained": float(knows_not)}
    text = strip_marks(answer)
    return {
        "marker": float(bool(marks)),
        "citation": float(marks == {item["gold"]}),
        "token_f1": token_f1(text, item["reference"]),
        "rouge_l": rouge(text, item["reference"])["rougeL"],
    }


def evaluate(fm: Fmstack, model: str, items: list[dict]) -> list[dict]:
    out = []
    for item in items:
        from fmstack.models import Message

        messages = [Message(m["role"], m["content"]) for m in item["messages"][:-1]]
        r = fm.generate(messages, model=model, max_tokens=64, temperature=0)
        out.append({"answer": r.text, **score(r.text, item)})
    return out


def summary(name: str, base: list[dict], tuned: list[dict]) -> None:
    def mean(xs: list[float]) -> float:
        return sum(xs) / len(xs) if xs else float("nan")

    print(f"\n{name}: base vs tuned (95% bootstrap intervals), n per metric below")
    for metric in ("marker", "citation", "token_f1", "rouge_l", "abstained"):
        b = [r[metric] for r in base if metric in r]
        t = [r[metric] for r in tuned if metric in r]
        if not b:
            continue
        diff = [y - x for x, y in zip(b, t)]
        lo_b, hi_b = bootstrap_ci(b)
        lo_t, hi_t = bootstrap_ci(t)
        lo_d, hi_d = bootstrap_ci(diff)
        print(
            f"  {metric:10s} n={len(b):3d}  base {mean(b):.3f} [{lo_b:.3f}, {hi_b:.3f}]  "
            f"tuned {mean(t):.3f} [{lo_t:.3f}, {hi_t:.3f}]  difference {mean(diff):+.3f} [{lo_d:+.3f}, {hi_d:+.3f}]"
        )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--train", type=int, default=320, help="training examples (train domains)")
    ap.add_argument("--valid", type=int, default=24, help="validation examples (train domains, other entities)")
    ap.add_argument("--test", type=int, default=120, help="test examples (held-out domains)")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--model", help="evaluate this tuned model instead of tuning one")
    ap.add_argument("--data-dir", default=None, help="fmstack data directory (default: the usual one)")
    ap.add_argument("--save", help="write the test answers here (JSONL)")
    args = ap.parse_args()

    settings = {"data_dir": Path(args.data_dir)} if args.data_dir else {}
    fm = Fmstack(**settings)
    train = make(DOMAINS_TRAIN, args.train, seed=1)
    valid = make(DOMAINS_TRAIN, args.valid, seed=2)
    test = make(DOMAINS_TEST, args.test, seed=3)
    model = args.model
    if not model:
        rows = [(i, {"messages": e["messages"]}) for i, e in enumerate(train, 1)]
        ds = fm.datasets.create("citations", rows, source={"bench": "citations.py"}, validation=0.0, test=0.0)
        vs = fm.datasets.create(
            "citations-valid", [(i, {"messages": e["messages"]}) for i, e in enumerate(valid, 1)],
            source={"bench": "citations.py"}, validation=0.0, test=0.0,
        )  # fmt: skip
        print(f"dataset {ds.name}:{ds.version}: {ds.rows} examples, {ds.stats['tokens']} tokens "
              f"(mean {ds.stats['tokens_mean']}), validation {vs.rows}")  # fmt: skip
        hp = {"epochs": args.epochs, "batch_size": 4, "learning_rate": 1e-3, "max_length": 512, "lora_rank": 8}
        started = time.monotonic()
        job = fm.tuning.create("smollm2", ds.id, validation_dataset=vs.id, hyperparameters=hp, suffix="cite")
        last = -1
        while (job := fm.tuning.get(job.id)).status in ("queued", "running"):
            p = job.metrics.get("progress") or {}
            if p.get("step", -1) != last and p.get("step", 0) % 10 == 0:
                last = p["step"]
                print(f"  step {p['step']}/{p['total_steps']} loss {p['train_loss']} valid {p['valid_loss']} "
                      f"{p['tokens_per_second']} tokens/s, eta {p['eta_seconds']:.0f} s", flush=True)  # fmt: skip
            time.sleep(2)
        if job.status != "succeeded":
            raise SystemExit(f"tuning {job.status}: {job.error}")
        m = job.metrics
        print(f"tuned {job.fine_tuned_model} in {time.monotonic() - started:.0f} s ({m['seconds']} s training, "
              f"{m['tokens_per_second']} tokens/s); validation loss {m['valid_loss']:.3f} (base {m['base_valid_loss']:.3f})")  # fmt: skip
        model = job.fine_tuned_model
    assert model
    base = evaluate(fm, "smollm2", test)
    tuned = evaluate(fm, model, test)
    summary(
        f"held-out domains ({len(test)} questions, {sum(1 for t in test if t['gold'] is None)} unanswerable)",
        base,
        tuned,
    )
    for lang in ("en", "zh"):
        idx = [i for i, t in enumerate(test) if t["language"] == lang]
        summary(f"  {lang} only", [base[i] for i in idx], [tuned[i] for i in idx])
    if args.save:
        with open(args.save, "w", encoding="utf-8") as f:
            for t, b, u in zip(test, base, tuned):
                f.write(json.dumps({"question": t["messages"][1]["content"], "gold": t["gold"], "reference": t["reference"],
                                    "base": b, "tuned": u}, ensure_ascii=False) + "\n")  # fmt: skip
    fm.close()


if __name__ == "__main__":
    main()
