"""Writes pii.jsonl: texts with personal data from Faker (en_US and zh_CN) and the character
span of each item, plus texts full of numbers that are not personal data (order numbers, prices,
dates, versions), to measure both recall and precision. Deterministic (seeded).

    python bench/data/guardrails/make_pii.py
"""

from __future__ import annotations

import json
import random
import string
from pathlib import Path

from faker import Faker

HERE = Path(__file__).resolve().parents[3] / "src" / "fmstack" / "evalsets" / "guardrails"  # shipped with the package


def secret(rng: random.Random) -> str:
    alnum = string.ascii_letters + string.digits
    kind = rng.choice(["openai", "aws", "github", "assign"])
    if kind == "openai":
        return "sk-" + "".join(rng.choice(alnum) for _ in range(40))
    if kind == "aws":
        return "AKIA" + "".join(rng.choice(string.ascii_uppercase + string.digits) for _ in range(16))
    if kind == "github":
        return "ghp_" + "".join(rng.choice(alnum) for _ in range(36))
    return "".join(rng.choice(alnum) for _ in range(24))


def cn_id(fake: Faker, rng: random.Random) -> str:
    body = fake.ssn()[:17]
    total = sum(int(d) * w for d, w in zip(body, (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)))
    return body + "10X98765432"[total % 11]


EN = [
    ("Please contact {name} at {email} or on {phone}.", ["email", "phone"]),
    ("My card number is {credit_card} and it expires next year.", ["credit_card"]),
    ("Wire the deposit to IBAN {iban}, reference {order}.", ["iban"]),
    ("The staging server {ip_address} serves {url} for the team.", ["ip_address", "url"]),
    ("Use the key {secret} for the billing API, not the old one.", ["secret"]),
    ("Reach me on {phone}; my personal email is {email}.", ["phone", "email"]),
    ("Refund to {credit_card}, and send the receipt to {email}.", ["credit_card", "email"]),
    ("Login attempts came from {ip_address} yesterday.", ["ip_address"]),
    ("api_key={secret} was committed by mistake.", ["secret"]),
]
ZH = [
    ("请联系{name}，邮箱{email}，电话{phone}。", ["email", "phone"]),
    ("我的身份证号是{cn_id}，请帮我查询。", ["cn_id"]),
    ("退款请打到银行卡{credit_card}。", ["credit_card"]),
    ("服务器地址是{ip_address}，管理页面在{url}。", ["ip_address", "url"]),
    ("客户{name}的手机号是{phone}，身份证{cn_id}。", ["phone", "cn_id"]),
    ("这是测试环境的密钥 {secret}，不要外传。", ["secret"]),
    ("汇款账户 IBAN {iban}，备注订单号{order}。", ["iban"]),
    ("把发票发到{email}，谢谢。", ["email"]),
]
NEGATIVE_EN = [
    "Order {order} shipped on 2024-05-01 and cost $1,299.99.",
    "Python 3.11.7 was released in December 2023; version 2.7.18 is the last of its line.",
    "The meeting is in room 1204 on floor 12 at 10:30.",
    "Invoice 2024-000{n} totals 18,450.00 EUR for 36 units.",
    "The population grew from 1,412,000 to 1,425,893 between 2019 and 2023.",
    "Tracking number {order}{n} should arrive within 3-5 days.",
    "Set the timeout to 30000 ms and retry 3 times.",
    "ISBN 978-3-16-148410-0 is the second edition.",
]
NEGATIVE_ZH = [
    "订单{order}已于2024年5月1日发货，金额1299.99元。",
    "会议在12楼1204室，上午10点30分开始。",
    "2023年全国粮食总产量为69541万吨，比上年增长1.3%。",
    "版本号 3.11.7，发布于2023年12月。",
    "第{n}期工程共投资4500万元，工期18个月。",
    "快递单号{order}{n}，预计3到5天送达。",
]


def phone(fakes: list[Faker], rng: random.Random) -> str:
    """A phone number that is a real possibility (a random digit string is not a phone number)."""
    import phonenumbers

    for _ in range(200):
        fake = rng.choice(fakes)
        number = fake.phone_number()
        region = {"en_US": "US", "en_GB": "GB", "zh_CN": "CN"}[fake.locales[0]]
        try:
            if phonenumbers.is_valid_number(phonenumbers.parse(number, region)):
                return number
        except phonenumbers.NumberParseException:
            continue
    raise RuntimeError("Faker gave no valid phone number")


def iban(fake: Faker) -> str:
    """A valid IBAN (some of Faker's locales produce ones that fail the mod-97 check)."""
    from stdnum import iban as check

    for _ in range(200):
        value = fake.iban()
        if check.is_valid(value):
            return value
    return Faker("en_GB").iban()


def fill(template: str, kinds: list[str], fake: Faker, rng: random.Random, zh: bool) -> dict:
    values = {
        "name": fake.name(),
        "email": fake.email(),
        "phone": phone([fake] if zh else PHONE_FAKERS, rng),
        "credit_card": fake.credit_card_number(),
        "iban": iban(fake),
        "ip_address": rng.choice([fake.ipv4(), fake.ipv6()]),
        "url": fake.url() + rng.choice(["", "docs", "login?next=/home"]),
        "secret": secret(rng),
        "cn_id": cn_id(fake, rng) if zh else "",
        "order": str(rng.randint(100000, 999999)),
    }
    text, spans, rest = "", [], template
    while "{" in rest:
        before, _, after = rest.partition("{")
        key, _, rest = after.partition("}")
        text += before
        value = values[key]
        if key in kinds:
            spans.append({"type": key, "start": len(text), "end": len(text) + len(value)})
        text += value
    text += rest
    return {"text": text, "lang": "zh" if zh else "en", "spans": spans}


PHONE_FAKERS: list[Faker] = []


def main() -> None:
    rng = random.Random(7)
    PHONE_FAKERS.extend([Faker("en_US"), Faker("en_GB")])
    rows = []
    for zh, templates, negatives, locale in ((False, EN, NEGATIVE_EN, "en_US"), (True, ZH, NEGATIVE_ZH, "zh_CN")):
        fake = Faker(locale)
        Faker.seed(11 if zh else 5)
        for i in range(150):
            template, kinds = templates[i % len(templates)]
            rows.append(fill(template, kinds, fake, rng, zh))
        for i in range(50):
            neg = (
                negatives[i % len(negatives)]
                .replace("{order}", str(rng.randint(100000, 999999)))
                .replace("{n}", str(i))
            )
            rows.append({"text": neg, "lang": "zh" if zh else "en", "spans": []})
    with open(HERE / "pii.jsonl", "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(f"{len(rows)} texts, {sum(len(r['spans']) for r in rows)} spans")


if __name__ == "__main__":
    main()
