"""Evaluation runs: a dataset × one or more configurations → per-example outputs and scores, and
aggregates with bootstrap confidence intervals, all stored; comparisons; resumable.

A spec (YAML for `fmstack eval run`):

    name: dive-qa
    dataset: questions.jsonl        # JSONL or CSV (relative to the spec); or {feedback: up}
    task: generate                  # generate | rag | classify | multiple_choice
    metrics: [token_f1, rouge, bleu, embedding_similarity, faithfulness, judge:correctness]
    judge: {model: default, rag: false}    # the judge model; rag: true uses it for the RAG metrics
    configurations:
      - {name: short, model: default, prompt: qa@1, params: {temperature: 0, max_tokens: 96}}
      - {name: long, model: default, prompt: qa@2, knowledge_base: dive, retrieval: {top_k: 4}}

Examples: `input` (or `question`), `reference` (or `answer`/`output`; a list means alternatives),
optional `contexts`, `label` (classify), `choices` + `answer` letter (multiple choice, MMLU-style,
or columns A-D).
"""

from __future__ import annotations

import csv
import io
import json
import math
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select, update

from ..chat.conversations import ConversationStore
from ..errors import InvalidInput, NotFound
from ..jobs import JobContext, JobRunner
from ..knowledge.options import Retrieval
from ..models.registry import ModelRegistry
from ..models.types import GenerationParams, Message
from ..prompts import PromptService
from ..store import Database, EvalResult, EvalRun
from ..store.tables import utcnow
from ..turns import TurnPipeline
from . import metrics as M
from .scoring import PERTURBATIONS, MetricContext, lookup, perturb  # noqa: F401 - part of this module's API

LETTERS = ["A", "B", "C", "D", "E", "F"]


class Configuration(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)
    model: str | None = None
    prompt: str | None = None  # NAME or NAME@VERSION; variables: the example's fields (+ context for rag)
    system: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    knowledge_base: str | None = None
    retrieval: Retrieval = Field(default_factory=Retrieval)
    guardrail: str | None = None
    cost_per_1k_tokens: float = 0.0


class JudgeSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    model: str | None = None
    rag: bool = False  # LLM-judge variants of the RAG metrics


class EvalSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    dataset: str | dict | list[dict]  # a JSONL/CSV path, {feedback: up|down|all}, or the examples inline
    task: Literal["generate", "rag", "classify", "multiple_choice"] = "generate"
    labels: list[str] = Field(default_factory=list)
    metrics: list[str] = Field(default_factory=lambda: ["token_f1", "rouge"])
    judge: JudgeSpec = Field(default_factory=JudgeSpec)
    configurations: list[Configuration] = Field(min_length=1)
    limit: int | None = Field(default=None, ge=1)


def parse_spec(data: dict, base: Path | None = None) -> EvalSpec:
    try:
        spec = EvalSpec.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        raise InvalidInput(f"evaluation {'.'.join(map(str, err['loc']))}: {err['msg']}") from None
    for m in spec.metrics:
        lookup(m)  # an unknown metric is an error naming the known ones
    if isinstance(spec.dataset, str) and base is not None and not Path(spec.dataset).is_absolute():
        spec.dataset = str((base / spec.dataset).resolve())
    names = [c.name for c in spec.configurations]
    if len(set(names)) != len(names):
        raise InvalidInput("configuration names must differ", param="configurations")
    if spec.task == "classify" and len(spec.labels) < 2:
        raise InvalidInput("a classify task needs labels (at least two)", param="labels")
    return spec


# -- datasets ----------------------------------------------------------------------------------------
def load_examples(source: str | dict | list, conversations: ConversationStore | None = None) -> list[dict]:
    if isinstance(source, list):
        if not source:
            raise InvalidInput("the dataset has no examples", param="dataset")
        return [normalise(r, i) for i, r in enumerate(source)]
    if isinstance(source, dict):
        if "feedback" in source:
            return feedback_examples(conversations, source["feedback"])
        raise InvalidInput("dataset is a file path or {feedback: up|down|all}", param="dataset")
    path = Path(source)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as e:
        raise InvalidInput(f"cannot read the dataset {path}: {e.strerror}", param="dataset") from None
    except UnicodeDecodeError as e:
        raise InvalidInput(
            f"the dataset {path} is not UTF-8 text ({e.reason} at byte {e.start})", param="dataset"
        ) from None
    if path.suffix.lower() == ".csv":
        rows = list(csv.DictReader(io.StringIO(text)))
    else:
        rows = []
        for n, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except ValueError as e:
                    raise InvalidInput(f"{path.name} line {n} is not JSON: {e}", param="dataset") from None
    if not rows:
        raise InvalidInput(f"the dataset {path.name} has no examples", param="dataset")
    return [normalise(r, i) for i, r in enumerate(rows)]


def normalise(row: dict, i: int) -> dict:
    ex = dict(row)
    ex.setdefault("input", ex.get("question") or ex.get("prompt") or "")
    if "reference" not in ex:
        for key in ("answer", "output", "ground_truth"):
            if key in ex:
                ex["reference"] = ex[key]
                break
    if not ex.get("choices") and all(k in ex for k in LETTERS[:4]):
        ex["choices"] = [ex[k] for k in LETTERS if k in ex]
    if isinstance(ex.get("contexts"), str):
        ex["contexts"] = [ex["contexts"]]
    if not str(ex["input"]).strip():
        raise InvalidInput(f"example {i + 1} has no input (or question)", param="dataset")
    return ex


def feedback_examples(conversations: ConversationStore | None, which: str) -> list[dict]:
    """Rated chat answers as examples: the question before each 👍 (or 👎) answer; a liked answer is
    the reference."""
    if conversations is None:
        raise InvalidInput("a feedback dataset needs the platform", param="dataset")
    if which not in ("up", "down", "all"):
        raise InvalidInput("feedback is up, down or all", param="dataset")
    rows = []
    for item in conversations.rated_messages({"up": 1, "down": -1}.get(which)):
        conv = conversations.get(item.conversation_id)
        before = [m for m in conv.messages or [] if m.seq < item.seq and m.role == "user"]
        if before:
            ex = {
                "input": before[-1].content,
                "rating": item.rating,
                "comment": item.feedback_comment,
                "message_id": item.id,
            }
            if item.rating and item.rating > 0:
                ex["reference"] = item.content
            rows.append(ex)
    if not rows:
        raise InvalidInput("no rated chat answers to build a dataset from", param="dataset")
    return rows


# -- statistics ----------------------------------------------------------------------------------------
def bootstrap_ci(values: list[float], rounds: int = 1000, seed: int = 0) -> tuple[float, float]:
    """95% percentile bootstrap interval of the mean."""
    arr = np.asarray(values, dtype=float)
    if len(arr) < 2:
        return (float(arr.mean()), float(arr.mean())) if len(arr) else (math.nan, math.nan)
    rng = np.random.default_rng(seed)
    means = arr[rng.integers(0, len(arr), size=(rounds, len(arr)))].mean(axis=1)
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def aggregate(results: list[dict]) -> dict:
    keys = sorted({k for r in results for k, v in r["scores"].items() if isinstance(v, (int, float)) and v is not None})
    out = {}
    for k in keys:
        vals = [float(r["scores"][k]) for r in results if isinstance(r["scores"].get(k), (int, float))]
        if vals:
            lo, hi = bootstrap_ci(vals)
            out[k] = {"mean": float(np.mean(vals)), "ci95": [lo, hi], "n": len(vals)}
    return out


class EvaluationService:
    def __init__(
        self,
        db: Database,
        models: ModelRegistry,
        turns: TurnPipeline,
        prompts: PromptService,
        conversations: ConversationStore,
        jobs: JobRunner,
    ):
        self.db = db
        self.models = models
        self.turns = turns  # every generated answer takes the path users' answers take
        self.prompts = prompts
        self.conversations = conversations
        self.jobs = jobs
        jobs.register("evaluation", self._work, ended=self._stopped)

    # -- running ------------------------------------------------------------------------------
    def run(
        self,
        spec: EvalSpec,
        progress: Callable[[str, int, int], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> list[str]:
        """Evaluate every configuration; returns the run ids (one per configuration). With `cancel`
        set, the run in progress stops after its current example as `interrupted` (resumable)."""
        examples, ids = self.prepare(spec), []
        for cfg in spec.configurations:
            ids.append(self._create(spec, cfg, examples))
        for run_id in ids:
            self._execute(run_id, progress, cancel)
        return ids

    def prepare(self, spec: EvalSpec) -> list[dict]:
        """The examples, after checking every configuration's model, prompt, knowledge base, guardrail."""
        examples = load_examples(spec.dataset, self.conversations)[: spec.limit or None]
        self._check(spec)
        return examples

    def _create(self, spec: EvalSpec, cfg: Configuration, examples: list[dict]) -> str:
        with self.db.session() as s:
            run = EvalRun(
                name=spec.name,
                config_name=cfg.name,
                total=len(examples),
                status="running",
                spec={
                    **spec.model_dump(mode="json"),
                    "dataset": spec.dataset if not isinstance(spec.dataset, list) else "inline",
                    "configurations": [cfg.model_dump(mode="json")],
                    "examples": examples,
                },
            )
            s.add(run)
            s.flush()
            return run.id

    def start(self, spec: EvalSpec):
        """Run in the background as a job (progress per configuration; cancel leaves the runs resumable)."""
        examples = self.prepare(spec)
        ids = [self._create(spec, cfg, examples) for cfg in spec.configurations]
        return self._job(ids)

    def start_resume(self, run_id: str):
        self.get(run_id)
        return self._job([run_id])

    def _job(self, ids: list[str]):
        return self.jobs.submit("evaluation", ids[0], {"runs": ids})

    def _work(self, ctx: JobContext, params: dict[str, Any]) -> dict:
        """The job of `_job`: each run in turn (a run stopped part-way carries on where it was)."""
        ids = params["runs"]
        total = sum(self.get(i)["total"] for i in ids)
        done_before = {"n": 0}

        def progress(cfg: str, done: int, of: int) -> None:
            ctx.report({"runs": ids, "configuration": cfg, "done": done_before["n"] + done, "total": total})

        for run_id in ids:
            self._execute(run_id, progress, ctx.cancel_event)
            done_before["n"] += self.get(run_id)["total"]
            if ctx.cancelled:
                break
        return {"runs": ids}

    def _stopped(self, params: dict[str, Any]) -> None:
        """The job ended before it ran (cancelled while queued) or gave up: its unfinished runs are
        `interrupted` — resumable — rather than `running` for ever."""
        with self.db.session() as s:
            s.execute(
                update(EvalRun)
                .where(EvalRun.id.in_(list(params.get("runs") or [])), EvalRun.status == "running")
                .values(status="interrupted")
                .execution_options(all_workspaces=True)  # named by id; the queue's thread has no workspace
            )

    def resume(self, run_id: str, progress: Callable[[str, int, int], None] | None = None) -> str:
        """Carry on a run that stopped (examples already stored are kept)."""
        self.get(run_id)
        self._execute(run_id, progress)
        return run_id

    def _check(self, spec: EvalSpec) -> None:
        for cfg in spec.configurations:
            self.models.resolve(cfg.model)
            if cfg.prompt:
                self.prompts.get(cfg.prompt)
            if cfg.knowledge_base and self.turns.knowledge is not None:
                self.turns.knowledge.settings(cfg.knowledge_base)
            if cfg.guardrail:
                self.turns.guardrail(cfg.guardrail)
        if spec.task == "rag" and not all(c.knowledge_base for c in spec.configurations):
            raise InvalidInput("a rag task needs a knowledge_base in every configuration", param="configurations")

    def _execute(self, run_id: str, progress, cancel: threading.Event | None = None) -> None:
        with self.db.session() as s:
            run = s.get_one(EvalRun, run_id)
            spec = EvalSpec.model_validate({k: v for k, v in run.spec.items() if k != "examples"})
            examples = run.spec["examples"]
            done = set(s.scalars(select(EvalResult.idx).where(EvalResult.run_id == run_id)))
            run.status, run.error = "running", None
        cfg = spec.configurations[0]
        try:
            for i, ex in enumerate(examples):
                if i in done:
                    continue
                if cancel is not None and cancel.is_set():
                    with self.db.session() as s:
                        s.get_one(EvalRun, run_id).status = "interrupted"
                    return
                row = self._one(spec, cfg, ex)
                with self.db.session() as s:
                    s.add(EvalResult(run_id=run_id, idx=i, **row))
                if progress:
                    progress(cfg.name, i + 1, len(examples))
            self.finish(run_id, spec)
        except BaseException as e:
            with self.db.session() as s:
                run = s.get_one(EvalRun, run_id)
                run.status = "interrupted" if isinstance(e, KeyboardInterrupt) else "error"
                run.error = f"{type(e).__name__}: {e}"
            raise

    def finish(self, run_id: str, spec: EvalSpec | None = None) -> dict:
        """Aggregate the stored results and mark the run done."""
        return self._aggregate(run_id, spec, done=True)

    def _aggregate(self, run_id: str, spec: EvalSpec | None = None, *, done: bool = False) -> dict:
        rows = self.results(run_id)
        with self.db.session() as s:
            run = s.get_one(EvalRun, run_id)
            spec = spec or EvalSpec.model_validate({k: v for k, v in run.spec.items() if k != "examples"})
            agg = aggregate(rows)
            if spec.task in ("classify", "multiple_choice") and rows:
                preds = [r["scores"].get("prediction") or "" for r in rows]
                if spec.task == "classify":
                    golds = [str(r["example"].get("label", "")) for r in rows]
                else:
                    golds = [str(r["example"].get("reference", "")).strip().upper() for r in rows]
                labels = (
                    spec.labels
                    if spec.task == "classify"
                    else LETTERS[: max(len(r["example"].get("choices") or []) for r in rows)]
                )
                agg["classification"] = M.classification(preds, golds, labels)
            humans = [r["human_rating"] for r in rows if r["human_rating"]]
            if humans:
                agg["human_rating"] = {
                    "mean": float(np.mean(humans)),
                    "ci95": list(bootstrap_ci(humans)),
                    "n": len(humans),
                }
            run.aggregates = agg
            if done:
                run.status = "done"
                run.finished_at = utcnow()
            return agg

    def _one(self, spec: EvalSpec, cfg: Configuration, ex: dict) -> dict:
        chat = self.models.chat(cfg.model)
        params = GenerationParams(**{"temperature": 0.0, "max_tokens": 256, **cfg.params})
        contexts = list(ex.get("contexts") or [])
        scores: dict[str, Any] = {}
        t0 = time.perf_counter()
        tokens = 0
        error = None
        output = ""
        try:
            if spec.task in ("classify", "multiple_choice"):
                from ..prompts.techniques import classify

                if spec.task == "multiple_choice":
                    choices = ex.get("choices") or []
                    letters = LETTERS[: len(choices)]
                    text = ex["input"] + "\n" + "\n".join(f"{letter}. {c}" for letter, c in zip(letters, choices))
                    res = classify(
                        chat,
                        text,
                        letters,
                        instruction="Answer the multiple-choice question with the letter of the right choice.",
                    )
                    gold = str(ex.get("reference", "")).strip().upper()
                else:
                    text = self._prompt_text(cfg, ex) if cfg.prompt else ex["input"]
                    res = classify(chat, text, spec.labels)
                    gold = str(ex.get("label", ""))
                output = res.label
                scores["prediction"] = res.label
                scores["accuracy"] = float(res.label == gold)
            else:
                output, contexts, tokens = self._generate(spec, cfg, chat, params, ex)
        except Exception as e:  # one failing example is recorded, the run goes on
            error = f"{type(e).__name__}: {e}"
        latency = (time.perf_counter() - t0) * 1000
        if error is None and spec.task in ("generate", "rag"):
            scores.update(self._score(spec, cfg, chat, params, ex, output, contexts))
        scores["latency_ms"] = latency
        if tokens:
            scores["tokens"] = tokens
            if cfg.cost_per_1k_tokens:
                scores["cost"] = tokens / 1000 * cfg.cost_per_1k_tokens
        return {
            "example": ex,
            "output": output,
            "contexts": contexts or None,
            "scores": scores,
            "latency_ms": latency,
            "tokens": tokens or None,
            "error": error,
        }

    def _prompt_text(self, cfg: Configuration, ex: dict, **extra) -> str:
        return self.prompts.render_text(cfg.prompt or "", {**ex, **extra})

    def _generate(self, spec, cfg, chat, params, ex, question: str | None = None) -> tuple[str, list[str], int]:
        """(the output, the contexts it was given, tokens): through the turn pipeline, so the
        guardrail checks the output as it streams, as it does for users."""
        question = question if question is not None else ex["input"]
        if spec.task == "rag" and not cfg.prompt:  # fmstack's own RAG prompt, with citations
            ans = self.turns.ask(
                cfg.knowledge_base,
                question,
                model=chat,
                params=params,
                guardrail=cfg.guardrail,
                retrieval=cfg.retrieval,
            )
            return ans.text, [p.text for p in ans.passages], chat.count_tokens(ans.text)
        guard = self.turns.guardrail(cfg.guardrail)
        trace: list = []
        question, refusal = self.turns.check_input(guard, question, trace)
        contexts: list[str] = list(ex.get("contexts") or [])
        if refusal is not None:
            return refusal, contexts, 0
        if spec.task == "rag":
            _, passages = self.turns.retrieve(
                cfg.knowledge_base, question, retrieval=cfg.retrieval, model=chat, guard=guard, trace=trace
            )
            contexts = [p.text for p in passages]
        variables = {
            **ex,
            "input": question,
            "question": question,
            "context": "\n\n".join(f"[{i + 1}] {c}" for i, c in enumerate(contexts)),
        }
        if ex.get("messages") and not cfg.prompt:  # a chat-shaped example: its own turns (a tuning test split)
            messages = [Message(m["role"], m["content"]) for m in ex["messages"]]
        else:
            messages = self.prompts.render(cfg.prompt, variables) if cfg.prompt else [Message("user", question)]
        if cfg.system:
            messages = [Message("system", cfg.system), *messages]
        turn = self.turns.prepare(messages, model=chat, params=params, guardrail=guard, check_input=False)
        done = self.turns.answer(turn)
        usage = done.result().usage
        return done.text, contexts, (usage.prompt_tokens or 0) + (usage.completion_tokens or 0)

    def _score(self, spec, cfg, chat, params, ex, output, contexts) -> dict:
        ref = ex.get("reference")
        refs = [str(r) for r in ref] if isinstance(ref, list) else ([str(ref)] if ref not in (None, "") else [])
        scores: dict[str, Any] = {}
        for name in spec.metrics:
            m, argument = lookup(name)
            ctx = MetricContext(
                ex,
                output,
                refs,
                list(contexts or []),
                argument,
                rag_judge=spec.judge.rag,
                get_embedder=lambda: self.models.embedding(None),
                get_judge=lambda: self.models.chat(spec.judge.model),
                regenerate=lambda q: self._generate(spec, cfg, chat, params, ex, question=q)[0],
            )
            scores.update(m.score(ctx))
        return {k: v for k, v in scores.items() if v is not None}

    # -- reading --------------------------------------------------------------------------------
    def get(self, run_id: str) -> dict:
        with self.db.session() as s:
            run = s.get(EvalRun, run_id)
            if run is None:
                raise NotFound(f"evaluation run {run_id!r} does not exist", param="run")
            return _run_dict(run)

    def runs(self, name: str | None = None, limit: int = 50) -> list[dict]:
        stmt = select(EvalRun).order_by(EvalRun.created_at.desc()).limit(limit)
        if name:
            stmt = stmt.where(EvalRun.name == name)
        with self.db.session() as s:
            return [_run_dict(r) for r in s.scalars(stmt)]

    def results(self, run_id: str) -> list[dict]:
        with self.db.session() as s:
            rows = s.scalars(select(EvalResult).where(EvalResult.run_id == run_id).order_by(EvalResult.idx))
            return [
                {
                    "id": r.id,
                    "idx": r.idx,
                    "example": r.example,
                    "output": r.output,
                    "contexts": r.contexts,
                    "scores": r.scores,
                    "latency_ms": r.latency_ms,
                    "tokens": r.tokens,
                    "error": r.error,
                    "human_rating": r.human_rating,
                    "human_comment": r.human_comment,
                }
                for r in rows
            ]

    # -- people ---------------------------------------------------------------------------------
    def review_queue(self, run_id: str, limit: int = 20) -> list[dict]:
        """Results of a run that nobody has rated yet."""
        return [r for r in self.results(run_id) if r["human_rating"] is None][:limit]

    def rate(self, result_id: int, rating: int, comment: str = "") -> dict:
        if not 1 <= int(rating) <= 5:
            raise InvalidInput("a rating is 1 to 5", param="rating")
        with self.db.session() as s:
            row = s.get(EvalResult, result_id)
            if row is None:
                raise NotFound(f"evaluation result {result_id} does not exist", param="result")
            row.human_rating, row.human_comment = int(rating), comment or None
            run_id = row.run_id
        self._aggregate(run_id)  # a rating on a run still going (or stopped) leaves its status alone
        return next(r for r in self.results(run_id) if r["id"] == result_id)

    # -- comparing ------------------------------------------------------------------------------
    def compare(self, a: str, b: str) -> dict:
        """Per metric: both means, the paired difference with its CI, and B's win/tie/loss rate over
        the examples both runs scored; plus the examples whose outputs differ."""
        ra, rb = self.get(a), self.get(b)
        xa = {r["idx"]: r for r in self.results(a)}
        xb = {r["idx"]: r for r in self.results(b)}
        common = sorted(set(xa) & set(xb))
        metrics = {}
        names = sorted(
            {k for i in common for k, v in xa[i]["scores"].items() if isinstance(v, (int, float))}
            & {k for i in common for k, v in xb[i]["scores"].items() if isinstance(v, (int, float))}
        )
        for m in names:
            pairs = [
                (xa[i]["scores"][m], xb[i]["scores"][m])
                for i in common
                if isinstance(xa[i]["scores"].get(m), (int, float)) and isinstance(xb[i]["scores"].get(m), (int, float))
            ]
            if not pairs:
                continue
            diffs = [bv - av for av, bv in pairs]
            lower_better = m in ("latency_ms", "tokens", "cost")
            wins = sum((d < 0) if lower_better else (d > 0) for d in diffs)
            ties = sum(abs(d) < 1e-12 for d in diffs)
            metrics[m] = {
                "a": float(np.mean([p[0] for p in pairs])),
                "b": float(np.mean([p[1] for p in pairs])),
                "delta": float(np.mean(diffs)),
                "delta_ci95": list(bootstrap_ci(diffs)),
                "n": len(pairs),
                "b_wins": wins / len(pairs),
                "ties": ties / len(pairs),
                "b_losses": (len(pairs) - wins - ties) / len(pairs),
            }
        changed = [
            {
                "idx": i,
                "input": xa[i]["example"].get("input"),
                "a": xa[i]["output"],
                "b": xb[i]["output"],
                "scores_a": xa[i]["scores"],
                "scores_b": xb[i]["scores"],
            }
            for i in common
            if (xa[i]["output"] or "") != (xb[i]["output"] or "")
        ]
        return {"a": ra, "b": rb, "examples": len(common), "metrics": metrics, "changed": changed}


def _run_dict(run: EvalRun) -> dict:
    spec = {k: v for k, v in (run.spec or {}).items() if k != "examples"}
    return {
        "id": run.id,
        "name": run.name,
        "configuration": run.config_name,
        "status": run.status,
        "total": run.total,
        "aggregates": run.aggregates or {},
        "error": run.error,
        "spec": spec,
        "created_at": run.created_at.isoformat() if isinstance(run.created_at, datetime) else run.created_at,
        "finished_at": run.finished_at.isoformat() if isinstance(run.finished_at, datetime) else None,
    }
