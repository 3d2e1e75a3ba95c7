"""What every command group shares: the SDK (made on first use), output, sampling options."""

from __future__ import annotations

import json
import os

import typer
from rich.console import Console

from ..errors import InvalidInput
from ..models.types import GenerationParams
from ..store import WORKSPACE

out = Console()
err = Console(stderr=True)

_fm = None


def fm():
    global _fm
    if _fm is None:
        from ..sdk import Fmstack

        _fm = Fmstack()
        if workspace := os.environ.get("FMSTACK_WORKSPACE"):  # commands act in this workspace
            WORKSPACE.set(_fm.teams.workspace(workspace))
    return _fm


def emit_json(data) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


# -- sampling options shared by ask and chat -------------------------------------------------------
def params_from(temperature, top_p, top_k, max_tokens, stop, seed, repetition_penalty) -> GenerationParams:
    return GenerationParams(
        temperature=temperature,
        top_p=top_p,
        top_k=top_k,
        max_tokens=max_tokens,
        stop=list(stop) or None,
        seed=seed,
        repetition_penalty=repetition_penalty,
    )


TEMPERATURE = typer.Option(None, "--temperature", "-t", min=0, max=2, help="Sampling temperature.")
TOP_P = typer.Option(None, "--top-p", min=0, max=1)
TOP_K = typer.Option(None, "--top-k", min=0)
MAX_TOKENS = typer.Option(None, "--max-tokens", "-n", min=1, help="Longest answer, in tokens.")
STOP = typer.Option([], "--stop", help="Stop sequence (repeatable).")
SEED = typer.Option(None, "--seed")
REPEAT = typer.Option(None, "--repetition-penalty", min=0)


def read_config(path: str) -> dict:
    import yaml

    try:
        data = yaml.safe_load(open(path, encoding="utf-8"))
    except OSError as e:
        raise InvalidInput(f"cannot read {path}: {e.strerror}") from None
    except UnicodeDecodeError as e:
        raise InvalidInput(f"{path} is not UTF-8 text ({e.reason} at byte {e.start})") from None
    except yaml.YAMLError as e:
        raise InvalidInput(f"{path} is not valid YAML: {e}") from None
    if not isinstance(data, dict):
        raise InvalidInput(f"{path} must hold a mapping (name, policies…)")
    return data
