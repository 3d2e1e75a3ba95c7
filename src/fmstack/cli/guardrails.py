"""`fmstack guardrails`: create, list, apply, evaluate."""

from __future__ import annotations

import sys

import typer
from rich.markup import escape
from rich.table import Table

from ..errors import InvalidInput
from .common import (
    emit_json,
    err,
    fm,
    out,
    read_config,
)

guard_app = typer.Typer(help="Guardrails: create from YAML, list, apply to text, evaluate.", no_args_is_help=True)


@guard_app.command("create")
def guard_create(path: str = typer.Argument(..., help="YAML file: name, messages and policies.")):
    """Create a guardrail from a YAML file."""
    rec = fm().guardrails.create(read_config(path))
    err.print(f"created guardrail {rec.name} version {rec.version}")


@guard_app.command("update")
def guard_update(name: str, path: str):
    """Replace a guardrail's configuration (a new version)."""
    rec = fm().guardrails.update(name, read_config(path))
    err.print(f"guardrail {rec.name} is now version {rec.version}")


@guard_app.command("list")
def guard_list(as_json: bool = typer.Option(False, "--json")):
    """List guardrails (newest versions)."""
    recs = fm().guardrails.list()
    if as_json:
        return emit_json([r.model_dump(mode="json") for r in recs])
    table = Table("name", "version", "policies")
    for r in recs:
        policies = [k for k in ("topics", "words", "pii", "attacks", "harm", "grounding") if r.config.get(k)]
        table.add_row(r.name, str(r.version), ", ".join(policies))
    out.print(table)


@guard_app.command("show")
def guard_show(name: str, version: int | None = None):
    """Print a guardrail's configuration as JSON."""
    emit_json(fm().guardrails.get(name, version).model_dump(mode="json"))


@guard_app.command("delete")
def guard_delete(name: str):
    """Delete a guardrail (all versions)."""
    fm().guardrails.delete(name)
    err.print(f"deleted guardrail {name}")


@guard_app.command("apply")
def guard_apply(
    name: str,
    text: str = typer.Argument(..., help="The text; '-' reads standard input."),
    source: str = typer.Option("input", help="input, output or context"),
    as_json: bool = typer.Option(False, "--json"),
):
    """Check a text against a guardrail and print what fired."""
    if text == "-":
        text = sys.stdin.read()
    if source not in ("input", "output", "context"):
        raise InvalidInput("--source must be input, output or context")
    res = fm().guardrails.apply(name, text, source)
    if as_json:
        return emit_json(res.to_dict())
    out.print(f"[bold]{res.action}[/] ({res.guardrail} v{res.version}, {res.latency_ms:.1f} ms)", highlight=False)
    for f in res.findings:
        where = f" at {f.start}-{f.end}" if f.start is not None else ""
        score = f" score {f.score}" if f.score is not None else ""
        out.print(f"  {f.policy}: {escape(f.name)} → {f.action}{where}{score} {escape(f.detail)}", highlight=False)
    if res.action in ("masked", "blocked"):
        out.print(escape(res.text), highlight=False)


@guard_app.command("eval")
def guard_eval(
    prompts: list[str] = typer.Option(None, "--prompts", help="JSONL of attack/benign prompts (repeatable)."),
    pii_set: str | None = typer.Option(None, "--pii", help="JSONL of texts with PII spans."),
    dataset: str | None = typer.Option(
        None,
        "--dataset",
        help='Any labelled JSONL of attacks and benign texts ({"text", "label": 1|0, "kind", "source", "lang"}): '
        "TPR at 1% and 5% FPR per language and source, with intervals, and latency.",
    ),
    head: str = typer.Option(
        "auto", "--head", help="With --dataset: jailbreak | injection | auto (by each row's kind)."
    ),
    harm_detector: str = typer.Option(
        "classifier",
        "--harm-detector",
        help="With a --dataset labelled by harm category: classifier | examples (the harm policy's detector).",
    ),
    harm_strength: str = typer.Option(
        "medium", "--harm-strength", help="With a harm --dataset: the strength every category is checked at."
    ),
    as_json: bool = typer.Option(False, "--json"),
):
    """Prompt-attack TPR/FPR and PII span precision/recall on labelled sets (default: the bundled ones)."""
    from pathlib import Path

    if dataset is not None:
        return _eval_dataset(dataset, head, as_json, harm_detector, harm_strength)

    from .. import evalsets
    from ..guardrails import Guardrail, parse_config
    from ..guardrails.attacks import AttackDetector
    from ..guardrails.evaluation import EVAL_GUARDRAIL, evaluate_classifier, evaluate_pii, evaluate_policies, load_jsonl

    data = evalsets.path("guardrails")
    prompts = prompts or [str(p) for p in sorted(data.glob("prompts*.jsonl"))]
    pii_set = pii_set or (str(data / "pii.jsonl") if (data / "pii.jsonl").exists() else None)
    if not prompts and not pii_set:
        raise InvalidInput(f"give --prompts and/or --pii (the bundled sets are missing from {data})")
    # the shipped attack classifier was trained on prompts.jsonl (scripts/train_attack_classifier.py):
    # its row measures training data; the held-out sets and --dataset measure what it never saw
    report: dict = {"attacks": {}, "pii": None, "trained_on": ["prompts.jsonl"]}
    detector = AttackDetector()
    for path in prompts:
        res = evaluate_classifier(load_jsonl(path), lambda t: detector.fires(t)[0])
        res.pop("misses")
        report["attacks"][Path(path).name] = res
    if pii_set:
        report["pii"] = evaluate_pii(load_jsonl(pii_set))
    if (data / "pii-names.jsonl").exists():  # the opt-in Chinese name and address detectors
        from ..guardrails import pii

        report["pii_optional"] = evaluate_pii(
            load_jsonl(data / "pii-names.jsonl"), lambda text: pii.detect(text, pii.OPTIONAL_TYPES)
        )
    if (data / "policies.jsonl").exists():
        g = Guardrail(parse_config(EVAL_GUARDRAIL), fm().models.embedding(None))
        report["policies"] = evaluate_policies(load_jsonl(data / "policies.jsonl"), g)
    if as_json:
        return emit_json(report)
    table = Table("policy", "set", "group", "positives", "negatives", "TPR", "FPR")
    rows = [
        ("prompt attacks", name + (" (training data)" if name in report["trained_on"] else ""), res)
        for name, res in report["attacks"].items()
    ]
    labels = {"topics": "denied topics", "harm": "harm categories", "words": "word filters (profanity)"}
    rows += [(labels.get(p, p), "policies.jsonl", res) for p, res in report.get("policies", {}).items()]
    for policy, name, res in rows:
        for group, r in res.items():
            table.add_row(
                policy,
                name,
                group,
                str(r["positives"]),
                str(r["negatives"]),
                f"{r['tpr']:.3f}" if r["tpr"] is not None else "–",
                f"{r['fpr']:.3f}" if r["fpr"] is not None else "–",
            )
    out.print(table)
    for key, title in (("pii", "PII type"), ("pii_optional", "opt-in PII type (pii-names.jsonl)")):
        if not report.get(key):
            continue
        table = Table(title, "gold spans", "predicted", "precision", "recall", "exact boundaries")
        for kind, r in sorted(report[key].items(), key=lambda kv: (kv[0] != "all", kv[0])):
            table.add_row(
                kind,
                str(r["gold"]),
                str(r["predicted"]),
                f"{r['precision']:.3f}",
                f"{r['recall']:.3f}",
                f"{r['exact']:.3f}",
            )
        out.print(table)


def _at(g: dict, f: str) -> str:
    p = (g.get("at_fpr") or {}).get(f)
    return f"{p['tpr']:.3f} [{p['low']:.3f}, {p['high']:.3f}]" if p else "–"


def _rates(report: dict, keys: tuple[str, ...], counts: tuple[str, str, str], lead: str = "") -> None:
    """The groups of an evaluate_dataset / evaluate_harm report as a table, and its latency."""
    table = Table(*keys, *counts, "FPR", "TPR @1% FPR", "TPR @5% FPR")
    for g in report["groups"]:
        table.add_row(
            *(str(g[k]) for k in keys),
            str(g["positives"]),
            str(g["negatives"]),
            f"{g['tpr']:.3f}",
            f"{g['fpr']:.3f}" if g["fpr"] is not None else "–",
            _at(g, "0.01"),
            _at(g, "0.05"),
        )
    out.print(table)
    lat = report["latency_ms"]
    out.print(f"{lead}latency of one check: p50 {lat['p50']} ms, p90 {lat['p90']} ms, p99 {lat['p99']} ms")


def _eval_harm(rows: list[dict], detector: str, strength: str, as_json: bool) -> None:
    from ..guardrails import Guardrail, parse_config
    from ..guardrails.evaluation import evaluate_harm
    from ..guardrails.harm import CATEGORIES

    if detector not in ("classifier", "examples") or strength not in ("low", "medium", "high"):
        raise InvalidInput("--harm-detector is classifier or examples; --harm-strength low, medium or high")
    config = {"name": "eval-harm", "harm": {"detector": detector, "categories": dict.fromkeys(CATEGORIES, strength)}}
    report = evaluate_harm(rows, Guardrail(parse_config(config), fm().models.embedding(None)))
    report["detector"], report["strength"] = detector, strength
    if as_json:
        return emit_json(report)
    _rates(report, ("lang", "category", "source"), ("harmful", "benign", f"TPR ({strength})"), f"detector {detector}; ")


def _eval_dataset(path: str, head: str, as_json: bool, detector: str = "classifier", strength: str = "medium") -> None:
    from ..guardrails.attacks import AttackDetector
    from ..guardrails.evaluation import evaluate_dataset, is_harm_dataset, load_jsonl

    rows = load_jsonl(path)
    if is_harm_dataset(rows):
        return _eval_harm(rows, detector, strength, as_json)
    if head not in ("auto", "jailbreak", "injection"):
        raise InvalidInput("--head is jailbreak, injection or auto")
    report = evaluate_dataset(rows, AttackDetector(), head)
    if as_json:
        return emit_json(report)
    _rates(report, ("lang", "head", "source"), ("attacks", "benign", "TPR"))


# -- prompts ----------------------------------------------------------------------------------------
