"""Writes pii-names.jsonl: Chinese texts with personal names and postal addresses from Faker
(zh_CN) and their character spans, plus texts with place names, surnames-as-words and no personal
data, for the opt-in `cn_name` and `cn_address` detectors. The address span is Faker's address
without its trailing postcode. Deterministic (seeded); Faker's name lists are independent of
jieba's dictionary, which does the detecting.

    python bench/data/guardrails/make_pii_names.py
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from faker import Faker

HERE = Path(__file__).resolve().parents[3] / "src" / "fmstack" / "evalsets" / "guardrails"  # shipped with the package
TEMPLATES = [
    "请把合同寄到{address}，收件人{name}。",
    "{name}的家庭住址是{address}。",
    "快递地址：{address}，联系人：{name}",
    "客户{name}反馈说包裹没有送到{address}。",
    "会议由{name}主持，地点在{address}。",
    "{name}和{name2}明天一起出差。",
    "请通知{name}，新的办公室在{address}。",
    "收货人：{name}　地址：{address}",
    "{name}说他下周搬到{address}。",
    "我们的销售经理{name}会联系您。",
]
NEGATIVE = [
    "请在周五前提交季度报告。",
    "我们下个月去三亚潜水。",
    "上海市今天的天气很好。",
    "谢谢大家的支持。",
    "南京路上很热闹。",
    "这个问题我们明天再讨论。",
    "公司总部在北京。",
    "他说马上就到。",
    "工程部下周完成数据库迁移。",
    "请确认订单号{n}的状态。",
    "广东的早茶很有名。",
    "长城是世界文化遗产。",
    "这家餐厅的菜非常好吃。",
    "请把文件放在桌子上。",
    "明天上午十点开会。",
    "黄山的风景很美。",
    "金融市场今天波动较大。",
    "王者荣耀是一款游戏。",
    "高速公路上车很多。",
    "东方明珠在黄浦江边。",
]


def main() -> None:
    rng = random.Random(13)
    fake = Faker("zh_CN")
    Faker.seed(17)
    rows = []
    for i in range(150):
        template = TEMPLATES[i % len(TEMPLATES)]
        values = {"name": fake.name(), "name2": fake.name(), "address": fake.address().rsplit(" ", 1)[0]}
        text, spans, rest = "", [], template
        while "{" in rest:
            before, _, after = rest.partition("{")
            key, _, rest = after.partition("}")
            text += before
            kind = "cn_address" if key == "address" else "cn_name"
            spans.append({"type": kind, "start": len(text), "end": len(text) + len(values[key])})
            text += values[key]
        rows.append({"text": text + rest, "lang": "zh", "spans": spans})
    for i in range(60):
        rows.append(
            {
                "text": NEGATIVE[i % len(NEGATIVE)].replace("{n}", str(rng.randint(100000, 999999))),
                "lang": "zh",
                "spans": [],
            }
        )
    with open(HERE / "pii-names.jsonl", "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(f"{len(rows)} texts, {sum(len(r['spans']) for r in rows)} spans")


if __name__ == "__main__":
    main()
