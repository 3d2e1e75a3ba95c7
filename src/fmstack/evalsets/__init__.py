"""The labelled sets that `fmstack guardrails eval` and `fmstack agents eval` measure on by default,
shipped with the package (bench/data/*/make_*.py write them)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent


def path(*parts: str) -> Path:
    """A bundled set's file: path("agents", "tasks.jsonl")."""
    return ROOT.joinpath(*parts)
