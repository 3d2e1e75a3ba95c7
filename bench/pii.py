"""Personal data detection on sentences and values fmstack's authors did not write.

The templates are Microsoft Presidio's evaluation templates and the values FakeNameGenerator's
3,000 people (names, addresses, phone numbers in the national formats of 60 countries, US social
security numbers; templates with an address take a person from the US, Britain or Canada), both shipped in the `presidio-evaluator` package (MIT):

    pip install --no-deps presidio-evaluator   # only its data files are read
    python bench/pii.py [--seed 7] [--per-template 20]

Each template is filled with one person's values; a value's span is known, so each detector is
scored by recall (labelled spans it overlaps) and precision (its spans that overlap a labelled
span of its own kind). The false-positive rate on text with no personal data comes from the same
templates with every value removed is not meaningful, so precision is also measured on the
benign half of fmstack's own guardrail prompts set (numbers, dates, versions and prices abound).
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import re
import sys
from collections import Counter
from importlib.util import find_spec
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent / "src"))

from fmstack.guardrails.pii import ALL_TYPES, detect  # noqa: E402

# a template's placeholder -> (the record's field or a function of the record, the kind it is)
FIELDS = {
    "phone_number": ("TelephoneNumber", "phone"),
    "ssn": ("NationalID", "us_ssn"),
    "person": (lambda r: f"{r['GivenName']} {r['Surname']}", "person"),
    "name": (lambda r: f"{r['GivenName']} {r['Surname']}", "person"),
    "first_name": ("GivenName", "person"),
    "last_name": ("Surname", "person"),
    "address": (lambda r: f"{r['StreetAddress']}, {r['City']}, {r['State']} {r['ZipCode']}", "address"),
    "street_name": ("StreetAddress", "address"),
    "email": ("EmailAddress", "email"),
    "credit_card_number": (lambda r: r["CCNumber"] if "E+" not in r["CCNumber"] else None, "credit_card"),
}
DETECTED = {
    "phone": "phone",
    "us_ssn": "us_ssn",
    "email": "email",
    "credit_card": "credit_card",
    "address": "address",
    "person": "person",
}
ENGLISH = ("US", "GB", "CA")  # the address detector reads US, British and Canadian addresses
PLACEHOLDER = re.compile(r"{{\s*(\w+)\s*}}")


def data_dir() -> Path:
    spec = find_spec("presidio_evaluator")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("needs the data of presidio-evaluator: pip install --no-deps presidio-evaluator")
    return Path(next(iter(spec.submodule_search_locations))) / "data_generator" / "raw_data"


def fill(template: str, person: dict, rng: random.Random) -> tuple[str, list[tuple[str, int, int]]] | None:
    """The template with each placeholder replaced; None when it needs a value this set lacks."""
    out, spans, last = [], [], 0
    template = template.replace("\\n", "\n").strip()
    for m in PLACEHOLDER.finditer(template):
        out.append(template[last : m.start()])
        last = m.end()
        key = m.group(1)
        source, kind = FIELDS.get(key, (None, None))
        if source is None:
            value = {"city": person["City"], "country": person["CountryFull"], "organization": person["Company"]}.get(
                key, ""
            )
            if not value:
                return None
            out.append(value)
            continue
        value = source(person) if callable(source) else person.get(source, "")
        if not value:
            return None
        if kind == "phone" and rng.random() < 0.3:  # some written with their country code
            value = f"+{person['TelephoneCountryCode']} {value.lstrip('0')}"
        start = sum(map(len, out))
        out.append(value)
        spans.append((kind, start, start + len(value)))
    out.append(template[last:])
    return "".join(out), spans


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--per-template", type=int, default=20, help="people per template")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    folder = data_dir()
    templates = [t for t in (folder / "templates.txt").read_text(encoding="utf-8").splitlines() if t.strip()]
    people = list(csv.DictReader((folder / "FakeNameGenerator.com_3000.csv").open(encoding="utf-8-sig")))
    us = [p for p in people if p["Country"] == "US"]
    english = [p for p in people if p["Country"] in ENGLISH]
    found, labelled, predicted, correct = Counter(), Counter(), Counter(), Counter()
    by_country, by_country_n = Counter(), Counter()
    samples = 0
    for template in templates:
        kinds = {FIELDS[k][1] for k in PLACEHOLDER.findall(template) if k in FIELDS}
        if not kinds:
            continue
        for _ in range(args.per_template):
            person = rng.choice(us if "us_ssn" in kinds else english if "address" in kinds else people)
            filled = fill(template, person, rng)
            if filled is None:
                continue
            text, spans = filled
            samples += 1
            got = detect(text, ALL_TYPES)
            for kind, start, end in spans:
                labelled[kind] += 1
                hit = any(g.start < end and start < g.end and DETECTED.get(kind) == g.type for g in got)
                found[kind] += hit
                if kind == "phone":
                    by_country[person["Country"]] += hit
                    by_country_n[person["Country"]] += 1
            for g in got:
                predicted[g.type] += 1
                correct[g.type] += any(g.start < e and s < g.end and DETECTED.get(k) == g.type for k, s, e in spans)
    print(f"{samples} sentences from {len(templates)} Presidio templates, values of FakeNameGenerator's people")
    print(f"{'kind':14} {'recall':>16} {'precision':>18}")
    for kind in sorted(labelled):
        det = DETECTED.get(kind)
        prec = f"{correct[det] / predicted[det]:.3f} ({predicted[det]})" if det and predicted[det] else "-"
        print(f"{kind:14} {found[kind] / labelled[kind]:8.3f} ({labelled[kind]:4d}) {prec:>18}")
    missed = sorted(((by_country[c] / n, c, n) for c, n in by_country_n.items() if n >= 5))[:8]
    print("phone recall, lowest countries:", ", ".join(f"{c} {r:.2f} ({n})" for r, c, n in missed))

    # Text without personal data: fmstack's benign guardrail prompts (numbers, dates, prices, versions)
    benign_path = ROOT.parent / "src" / "fmstack" / "evalsets" / "guardrails" / "prompts.jsonl"
    benign = [json.loads(line) for line in benign_path.read_text(encoding="utf-8").splitlines() if line.strip()]
    benign = [b["text"] for b in benign if b.get("label") in ("benign", "safe", 0, False)]
    flagged: Counter = Counter()
    people: list[str] = []  # the prompts name some real people and places: listed to be read
    for text in benign:
        for g in detect(text, ALL_TYPES):
            if g.type in ("phone", "us_ssn", "address", "person"):
                flagged[g.type] += 1
                if g.type == "person":
                    people.append(g.text)
    print(
        f"on {len(benign)} benign prompts: phone spans {flagged['phone']}, SSN spans {flagged['us_ssn']}, "
        f"address spans {flagged['address']}, person spans {flagged['person']} {sorted(set(people))}"
    )


if __name__ == "__main__":
    main()
