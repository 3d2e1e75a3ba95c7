"""Writes tools.json and tasks.jsonl: a function-calling evaluation set for `fmstack agents eval`.

Four categories (BFCL's), English and Chinese:
- single: one tool offered, the question needs it;
- multiple: four tools offered, exactly one is right;
- parallel: the question needs two calls in one turn (same tool twice, or two tools);
- irrelevance: tools offered, none of them helps — the right move is to answer without a call.

Each task lists the tools offered and the expected calls; an expected string argument may list
accepted alternatives (["Beijing", "北京"]). Deterministic (seeded).

    python bench/data/agents/make_tasks.py
"""

from __future__ import annotations

import json
import random
from pathlib import Path

HERE = Path(__file__).resolve().parents[3] / "src" / "fmstack" / "evalsets" / "agents"  # shipped with the package


def fn(name: str, description: str, props: dict, required: list[str]) -> dict:
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {"type": "object", "properties": props, "required": required},
        },
    }


S = {"type": "string"}
TOOLS = [
    fn(
        "get_weather",
        "Get the current weather in a city.",
        {
            "city": {**S, "description": "City name"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "description": "Temperature unit"},
        },
        ["city"],
    ),
    fn(
        "convert_currency",
        "Convert an amount of money from one currency to another.",
        {
            "amount": {"type": "number"},
            "source": {**S, "description": "ISO code, e.g. EUR"},
            "target": {**S, "description": "ISO code, e.g. USD"},
        },
        ["amount", "source", "target"],
    ),
    fn(
        "get_stock_price",
        "Get the latest price of a stock by its ticker symbol.",
        {"symbol": {**S, "description": "Ticker, e.g. AAPL"}},
        ["symbol"],
    ),
    fn(
        "book_dive",
        "Book a guided dive at a dive site.",
        {
            "site": {**S, "description": "Dive site name"},
            "divers": {"type": "integer", "description": "Number of divers"},
        },
        ["site", "divers"],
    ),
    fn(
        "translate_text",
        "Translate a text into another language.",
        {"text": S, "target_language": {**S, "description": "Language name, e.g. French"}},
        ["text", "target_language"],
    ),
    fn(
        "send_email",
        "Send an email.",
        {"to": {**S, "description": "Recipient address"}, "subject": S, "body": S},
        ["to", "subject", "body"],
    ),
    fn(
        "calculate_tip",
        "Calculate the tip for a restaurant bill.",
        {
            "bill": {"type": "number", "description": "Bill amount"},
            "percent": {"type": "number", "description": "Tip %"},
        },
        ["bill", "percent"],
    ),
    fn(
        "set_reminder",
        "Set a reminder at a time.",
        {"time": {**S, "description": "When, e.g. 7:30"}, "message": S},
        ["time", "message"],
    ),
]
NAMES = [t["function"]["name"] for t in TOOLS]

CITIES = [
    ("Paris", "巴黎"),
    ("Tokyo", "东京"),
    ("Beijing", "北京"),
    ("Cairo", "开罗"),
    ("Sydney", "悉尼"),
    ("Berlin", "柏林"),
    ("Shanghai", "上海"),
    ("London", "伦敦"),
]
CURRENCIES = [("EUR", "欧元"), ("USD", "美元"), ("CNY", "人民币"), ("JPY", "日元"), ("GBP", "英镑")]
STOCKS = [
    ("AAPL", "Apple", "苹果"),
    ("MSFT", "Microsoft", "微软"),
    ("TSLA", "Tesla", "特斯拉"),
    ("BABA", "Alibaba", "阿里巴巴"),
]
SITES = [("Blue Hole", "蓝洞"), ("Ras Mohammed", "穆罕默德角"), ("Thistlegorm", "蓟花号沉船"), ("Sipadan", "诗巴丹")]
LANGS = [("French", "法语"), ("German", "德语"), ("Japanese", "日语"), ("Spanish", "西班牙语")]
PHRASES = [("good morning", "早上好"), ("thank you very much", "非常感谢"), ("where is the station", "车站在哪里")]


def single(rng: random.Random, lang: str) -> tuple[str, dict]:
    """A question and the one call it needs."""
    kind = rng.choice(NAMES)
    zh = lang == "zh"
    if kind == "get_weather":
        en, cn = rng.choice(CITIES)
        q = (
            f"{cn}现在天气怎么样？"
            if zh
            else rng.choice([f"What's the weather like in {en} right now?", f"Is it raining in {en} today?"])
        )
        return q, {"name": kind, "arguments": {"city": [en, cn]}}
    if kind == "convert_currency":
        (a, an), (b, bn) = rng.sample(CURRENCIES, 2)
        amount = rng.choice([20, 100, 250, 1000])
        q = f"{amount}{an}能换多少{bn}？" if zh else f"How much is {amount} {a} in {b}?"
        return q, {"name": kind, "arguments": {"amount": amount, "source": a, "target": b}}
    if kind == "get_stock_price":
        sym, en, cn = rng.choice(STOCKS)
        q = f"{cn}（{sym}）的股价现在是多少？" if zh else f"What is {en}'s ({sym}) stock trading at?"
        return q, {"name": kind, "arguments": {"symbol": sym}}
    if kind == "book_dive":
        en, cn = rng.choice(SITES)
        n = rng.choice([1, 2, 3, 4])
        q = f"帮我在{en}预订一次潜水，{n}个人。" if zh else f"Please book a dive at {en} for {n} divers."
        return q, {"name": kind, "arguments": {"site": [en, cn], "divers": n}}
    if kind == "translate_text":
        (pe, pc), (le, lc) = rng.choice(PHRASES), rng.choice(LANGS)
        q = f"把“{pc}”翻译成{lc}。" if zh else f"Translate '{pe}' into {le}."
        return q, {"name": kind, "arguments": {"text": [pc] if zh else [pe], "target_language": [le, lc]}}
    if kind == "send_email":
        who = rng.choice(["ana@example.com", "li.wei@example.cn", "team@example.org"])
        q = (
            f"给{who}发一封邮件，主题是“会议”，内容是“明天十点开会”。"
            if zh
            else f"Send an email to {who} with the subject 'Meeting' saying 'See you at ten tomorrow'."
        )
        return q, {"name": kind, "arguments": {"to": who}}
    if kind == "calculate_tip":
        bill, pct = rng.choice([40, 85, 120, 64]), rng.choice([10, 15, 18, 20])
        q = f"账单{bill}元，给{pct}%的小费是多少？" if zh else f"What's a {pct}% tip on a ${bill} bill?"
        return q, {"name": kind, "arguments": {"bill": bill, "percent": pct}}
    t = rng.choice(["7:30", "18:00", "9:15"])
    q = f"提醒我{t}吃药。" if zh else f"Remind me at {t} to take my medicine."
    return q, {"name": "set_reminder", "arguments": {"time": [t]}}


def parallel(rng: random.Random, lang: str) -> tuple[str, list[dict], list[str]]:
    zh = lang == "zh"
    roll = rng.random()
    if roll < 0.34:  # two different tools
        e1, c1 = rng.choice(CITIES)
        (a, an), (b, bn) = rng.sample(CURRENCIES, 2)
        q = (
            f"{c1}天气怎么样？另外100{an}等于多少{bn}？"
            if zh
            else f"What's the weather in {e1}, and how much is 100 {a} in {b}?"
        )
        return (
            q,
            [
                {"name": "get_weather", "arguments": {"city": [e1, c1]}},
                {"name": "convert_currency", "arguments": {"amount": 100, "source": a, "target": b}},
            ],
            ["get_weather", "convert_currency"],
        )
    if roll < 0.67:
        (e1, c1), (e2, c2) = rng.sample(CITIES, 2)
        q = f"{c1}和{c2}现在的天气分别怎么样？" if zh else f"What's the weather in {e1} and in {e2}?"
        return (
            q,
            [
                {"name": "get_weather", "arguments": {"city": [e1, c1]}},
                {"name": "get_weather", "arguments": {"city": [e2, c2]}},
            ],
            ["get_weather"],
        )
    (s1, e1, c1), (s2, e2, c2) = rng.sample(STOCKS, 2)
    q = f"查一下{c1}（{s1}）和{c2}（{s2}）的股价。" if zh else f"Get the stock prices of {e1} ({s1}) and {e2} ({s2})."
    return (
        q,
        [
            {"name": "get_stock_price", "arguments": {"symbol": s1}},
            {"name": "get_stock_price", "arguments": {"symbol": s2}},
        ],
        ["get_stock_price"],
    )


IRRELEVANT_EN = [
    "Write a haiku about autumn leaves.",
    "What is the capital of Australia?",
    "Explain what photosynthesis is in one sentence.",
    "Tell me a joke about programmers.",
    "Who wrote Pride and Prejudice?",
    "What is 12 times 12?",
    "Summarise the plot of Hamlet briefly.",
    "How many legs does a spider have?",
    "Suggest a name for a golden retriever puppy.",
    "What does HTTP stand for?",
]
IRRELEVANT_ZH = [
    "写一首关于秋天的短诗。",
    "澳大利亚的首都是哪里？",
    "用一句话解释什么是光合作用。",
    "讲一个关于程序员的笑话。",
    "《红楼梦》的作者是谁？",
    "十二乘以十二等于多少？",
    "简单介绍一下长城。",
    "蜘蛛有几条腿？",
    "给一只金毛小狗起个名字吧。",
    "HTTP 是什么的缩写？",
]


def main() -> None:
    rng = random.Random(7)
    tasks = []

    def add(category, lang, question, offered, expected):
        tasks.append(
            {
                "id": f"{category}-{len(tasks):03d}",
                "category": category,
                "lang": lang,
                "question": question,
                "tools": offered,
                "expected": expected,
            }
        )

    for i in range(30):
        lang = "zh" if i % 2 else "en"
        q, call = single(rng, lang)
        add("single", lang, q, [call["name"]], [call])
    for i in range(30):
        lang = "zh" if i % 2 else "en"
        q, call = single(rng, lang)
        others = rng.sample([n for n in NAMES if n != call["name"]], 3)
        offered = others + [call["name"]]
        rng.shuffle(offered)
        add("multiple", lang, q, offered, [call])
    for i in range(20):
        lang = "zh" if i % 2 else "en"
        q, calls, needed = parallel(rng, lang)
        offered = needed + rng.sample([n for n in NAMES if n not in needed], 2)
        rng.shuffle(offered)
        add("parallel", lang, q, offered, calls)
    for i in range(20):
        lang = "zh" if i % 2 else "en"
        q = (IRRELEVANT_ZH if lang == "zh" else IRRELEVANT_EN)[i // 2]
        add("irrelevance", lang, q, rng.sample(NAMES, 3), [])
    (HERE / "tools.json").write_text(json.dumps(TOOLS, ensure_ascii=False, indent=1) + "\n")
    with open(HERE / "tasks.jsonl", "w", encoding="utf-8") as f:
        for t in tasks:
            f.write(json.dumps(t, ensure_ascii=False) + "\n")
    print(f"{len(tasks)} tasks, {len(TOOLS)} tools → {HERE}")


if __name__ == "__main__":
    main()
