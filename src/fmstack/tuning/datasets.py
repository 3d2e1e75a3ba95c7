"""Datasets for tuning: examples read from files or from what the platform collected, checked
row by row before any training, split with a seed, counted in the base model's tokens, versioned.

Three kinds of example, each stored in one canonical shape:

- `chat`        {"messages": [{"role", "content"}, ...]}  (the last turn is the assistant's answer)
- `preference`  {"messages": [...prompt turns], "chosen": str, "rejected": str}
- `text`        {"text": str}  (continued pre-training on unlabelled text)

Files may hold any of the usual shapes: chat `messages`; `prompt`/`completion`;
`instruction`/`input`/`output` (Alpaca); `prompt`/`chosen`/`rejected`; OpenAI's preference shape
(`input.messages`, `preferred_output`, `non_preferred_output`); `text`. JSONL, CSV or a JSON array.
"""

from __future__ import annotations

import builtins
import csv
import io
import json
import random
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from sqlalchemy import func, select

from ..errors import InvalidInput, NotFound
from ..guardrails import pii
from ..store import Database
from ..store.tables import DatasetRow, EvalResult, KbChunk, KnowledgeBase, MessageRow

Kind = Literal["chat", "preference", "text"]
KINDS: tuple[str, ...] = ("chat", "preference", "text")
ROLES = ("system", "user", "assistant")
# personal data looked for in training rows (names and URLs are left: they are often the content)
PII_TYPES = ("email", "phone", "credit_card", "iban", "cn_id", "us_ssn", "address", "ip_address", "secret")
MAX_PROBLEMS = 1000  # reasons kept per dataset version (the count is always whole)
NEAR_DUPLICATE = 0.75  # Jaccard similarity of character shingles above which a row repeats another


class DatasetError(InvalidInput):
    """A dataset that cannot be made: not a file of examples, or no row survived the checks."""

    def __init__(self, message: str, problems: builtins.list[dict[str, Any]] | None = None):
        super().__init__(message, param="file", code="invalid_dataset")
        self.problems = problems or []


# -- reading --------------------------------------------------------------------------------------
def read_rows(data: bytes, filename: str = "") -> builtins.list[tuple[int, Any]]:
    """(row number, parsed object or an error string) for each row of a JSONL, CSV or JSON file."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DatasetError("the file is not UTF-8 text: upload JSONL, CSV or JSON") from None
    if "\x00" in text:
        raise DatasetError("the file is binary, not JSONL, CSV or JSON text")
    stripped = text.lstrip()
    if not stripped:
        raise DatasetError("the file is empty")
    suffix = Path(filename).suffix.lower()
    if suffix == ".csv":
        return _csv_rows(text)
    if stripped.startswith("["):
        try:
            items = json.loads(stripped)
        except json.JSONDecodeError:
            pass
        else:
            return [(i, item) for i, item in enumerate(items, 1)]
    rows: builtins.list[tuple[int, Any]] = []
    parsed = 0
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            rows.append((n, json.loads(line)))
            parsed += 1
        except json.JSONDecodeError as e:
            rows.append((n, f"not a JSON object: {e.msg} at column {e.colno}"))
    if not parsed:
        if suffix in ("", ".txt") and "," in text.splitlines()[0]:
            return _csv_rows(text)
        raise DatasetError("no line of the file is JSON: upload JSONL (one JSON object per line), CSV or a JSON array")
    return rows


def check_file(data: bytes, filename: str = "") -> None:
    """What an upload for fine-tuning must be: JSONL (or CSV, or a JSON array) with at least one
    row that is an example; a DatasetError says why not."""
    rows = read_rows(data, filename)
    reasons = []
    for n, row in rows:
        if isinstance(row, str):
            reasons.append(f"row {n}: {row}")
            continue
        try:
            canonical(row)
            return
        except ValueError as e:
            reasons.append(f"row {n}: {e}")
    raise DatasetError("no row of the file is a training example: " + "; ".join(reasons[:5]))


def _csv_rows(text: str) -> builtins.list[tuple[int, Any]]:
    try:
        reader = csv.DictReader(io.StringIO(text))
        rows = [(n, dict(r)) for n, r in enumerate(reader, 2)]  # row 1 is the header
    except csv.Error as e:
        raise DatasetError(f"the CSV file cannot be read: {e}") from None
    if not reader.fieldnames:
        raise DatasetError("the CSV file has no header row")
    return rows


def _content(value: Any) -> str | None:
    """A turn's text: a string, or OpenAI's list of text parts."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(p, dict) and p.get("type") == "text" for p in value):
        return "".join(str(p.get("text", "")) for p in value)
    return None


def _messages(raw: Any, where: str) -> builtins.list[dict[str, str]]:
    if not isinstance(raw, list) or not raw:
        raise ValueError(f"{where} must be a non-empty list of messages")
    out = []
    for i, m in enumerate(raw):
        if not isinstance(m, dict):
            raise ValueError(f"{where}[{i}] is not an object")
        role = m.get("role")
        if role not in ROLES:
            raise ValueError(f"{where}[{i}].role is {role!r}; expected one of {', '.join(ROLES)}")
        content = _content(m.get("content"))
        if content is None:
            raise ValueError(f"{where}[{i}].content must be text")
        if not content.strip():
            raise ValueError(f"{where}[{i}] ({role}) is empty")
        out.append({"role": role, "content": content})
    return out


def _check_order(messages: builtins.list[dict[str, str]], *, answer_last: bool) -> None:
    """system first (at most one), then user and assistant turns taking turns, starting with the user."""
    turns = messages[1:] if messages[0]["role"] == "system" else messages
    if any(m["role"] == "system" for m in turns):
        raise ValueError("a system message may only come first")
    if not turns:
        raise ValueError("there is no user turn")
    for i, m in enumerate(turns):
        expected = "user" if i % 2 == 0 else "assistant"
        if m["role"] != expected:
            raise ValueError(f"roles out of order: turn {i + 1} is {m['role']}, expected {expected}")
    if answer_last and turns[-1]["role"] != "assistant":
        raise ValueError("the last message must be the assistant's answer")
    if not answer_last and turns[-1]["role"] != "user":
        raise ValueError("the prompt must end with a user message")


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"`{name}` must be text")
    if not value.strip():
        raise ValueError(f"`{name}` is empty")
    return value


def canonical(row: Any) -> tuple[Kind, dict[str, Any]]:
    """The example a row holds, in its canonical shape; ValueError says why a row holds none."""
    if not isinstance(row, dict):
        raise ValueError("a row must be a JSON object")
    keys = set(row)
    if "chosen" in keys or "preferred_output" in keys:
        if "preferred_output" in keys:  # OpenAI's DPO shape
            prompt = _messages((row.get("input") or {}).get("messages"), "input.messages")
            chosen = _messages(row.get("preferred_output"), "preferred_output")[-1]["content"]
            rejected = _messages(row.get("non_preferred_output"), "non_preferred_output")[-1]["content"]
        else:
            raw = row.get("prompt")
            prompt = (
                _messages(raw, "prompt")
                if isinstance(raw, list)
                else [{"role": "user", "content": _text(raw, "prompt")}]
            )
            chosen, rejected = _text(row.get("chosen"), "chosen"), _text(row.get("rejected"), "rejected")
        _check_order(prompt, answer_last=False)
        if chosen.strip() == rejected.strip():
            raise ValueError("`chosen` and `rejected` are the same answer")
        return "preference", {"messages": prompt, "chosen": chosen, "rejected": rejected}
    if "messages" in keys:
        messages = _messages(row["messages"], "messages")
        _check_order(messages, answer_last=True)
        return "chat", {"messages": messages}
    if "instruction" in keys or "output" in keys:
        instruction = _text(row.get("instruction"), "instruction")
        extra = row.get("input") or ""
        if not isinstance(extra, str):
            raise ValueError("`input` must be text")
        user = f"{instruction}\n\n{extra}" if extra.strip() else instruction
        messages = [
            {"role": "user", "content": user},
            {"role": "assistant", "content": _text(row.get("output"), "output")},
        ]
        if isinstance(row.get("system"), str) and row["system"].strip():
            messages.insert(0, {"role": "system", "content": row["system"]})
        return "chat", {"messages": messages}
    if "prompt" in keys or "completion" in keys:
        messages = [
            {"role": "user", "content": _text(row.get("prompt"), "prompt")},
            {"role": "assistant", "content": _text(row.get("completion"), "completion")},
        ]
        return "chat", {"messages": messages}
    if "text" in keys:
        return "text", {"text": _text(row["text"], "text")}
    shown = ", ".join(sorted(map(str, keys))[:8]) or "none"
    raise ValueError(
        f"no example in this row (fields: {shown}); expected messages, prompt/completion, "
        "instruction/output, prompt/chosen/rejected or text"
    )


def example_text(example: dict[str, Any]) -> str:
    """All of an example's text, for duplicates, personal data and statistics."""
    if "text" in example:
        return example["text"]
    parts = [m["content"] for m in example["messages"]]
    if "chosen" in example:
        parts += [example["chosen"], example["rejected"]]
    return "\n".join(parts)


def _map_text(example: dict[str, Any], fn: Callable[[str], str]) -> dict[str, Any]:
    if "text" in example:
        return {"text": fn(example["text"])}
    out: dict[str, Any] = {"messages": [{**m, "content": fn(m["content"])} for m in example["messages"]]}
    if "chosen" in example:
        out["chosen"], out["rejected"] = fn(example["chosen"]), fn(example["rejected"])
    return out


# -- near duplicates ------------------------------------------------------------------------------
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def _normal(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(_WORD.findall(text))


def _shingles(text: str) -> set[str]:
    """Character 5-grams, or 3-grams where there is Chinese (a character carries more)."""
    norm = _normal(text)
    n = 3 if _CJK.search(norm) else 5
    return {norm[i : i + n] for i in range(max(1, len(norm) - n + 1))}


_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


class _Duplicates:
    """Exact repeats (after normalising case, width and punctuation) and near ones: a row whose
    prompt and answer are each nearly those of an earlier row (MinHash LSH finds candidates, the
    shingle sets confirm them). A paraphrased question with the same answer is not a repeat, nor is
    the same text with other numbers ("item 3 costs 5", "item 4 costs 7")."""

    def __init__(self, threshold: float = NEAR_DUPLICATE):
        from datasketch import MinHash, MinHashLSH

        self._minhash = MinHash
        self._lsh = MinHashLSH(threshold=max(0.1, threshold - 0.15), num_perm=64)
        self._exact: dict[str, int] = {}
        self._threshold = threshold
        self._seen: dict[str, tuple[builtins.list[set[str]], builtins.list[str]]] = {}

    def check(self, key: str, parts: builtins.list[str]) -> str | None:
        norm = _normal("\n".join(parts))
        if norm in self._exact:
            return f"repeats row {self._exact[norm]}"
        self._exact[norm] = int(key)
        sets = [_shingles(p) for p in parts]
        m = self._minhash(num_perm=64)
        m.update_batch([s.encode("utf-8") for part in sets for s in part])
        numbers = _NUMBER.findall(norm)
        for other in self._lsh.query(m):
            theirs, their_numbers = self._seen[other]
            if numbers != their_numbers or len(theirs) != len(sets):
                continue
            if all(len(a & b) / max(1, len(a | b)) >= self._threshold for a, b in zip(sets, theirs)):
                return f"nearly repeats row {other}"
        self._lsh.insert(key, m)
        self._seen[key] = (sets, numbers)
        return None


def _parts(example: dict[str, Any]) -> builtins.list[str]:
    """What a near repeat is judged on: the prompt and the answer(s) apart, or the text."""
    if "text" in example:
        return [example["text"]]
    messages = example["messages"]
    if "chosen" in example:
        return ["\n".join(m["content"] for m in messages), example["chosen"], example["rejected"]]
    return ["\n".join(m["content"] for m in messages[:-1]), messages[-1]["content"]]


# -- checking a set of rows -----------------------------------------------------------------------
@dataclass
class Checked:
    kind: Kind
    examples: builtins.list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # (row, example)
    tokens: builtins.list[int] = field(default_factory=list)
    problems: builtins.list[dict[str, Any]] = field(default_factory=list)  # {row, reason, action}
    dropped: int = 0


def check_rows(
    rows: Iterable[tuple[int, Any]],
    *,
    count_tokens: Callable[[dict[str, Any]], int] | None = None,
    max_tokens: int | None = None,
    kind: Kind | None = None,
    personal_data: Literal["mask", "drop", "keep"] = "mask",
    dedupe: bool = True,
) -> Checked:
    """Each row parsed, checked and kept, changed or dropped, with the reason and row number."""
    parsed: builtins.list[tuple[int, Kind | None, Any]] = []
    for n, row in rows:
        if isinstance(row, str):
            parsed.append((n, None, row))
            continue
        try:
            k, ex = canonical(row)
            parsed.append((n, k, ex))
        except ValueError as e:
            parsed.append((n, None, str(e)))
    kinds = Counter(k for _, k, _ in parsed if k)
    chosen: Kind = kind or (kinds.most_common(1)[0][0] if kinds else "chat")
    out = Checked(kind=chosen)
    dupes = _Duplicates() if dedupe else None

    def drop(n: int, reason: str) -> None:
        out.dropped += 1
        if len(out.problems) < MAX_PROBLEMS:
            out.problems.append({"row": n, "reason": reason, "action": "dropped"})

    for n, found, ex in parsed:
        if found is None:
            drop(n, ex)
            continue
        if found != chosen:
            drop(n, f"a {found} example in a {chosen} dataset")
            continue
        text = example_text(ex)
        if personal_data != "keep":
            spans = pii.detect(text, PII_TYPES)
            if spans:
                types = ", ".join(sorted({s.type for s in spans}))
                if personal_data == "drop":
                    drop(n, f"personal data ({types})")
                    continue
                ex = _map_text(ex, lambda t: pii.mask(t, pii.detect(t, PII_TYPES)))
                text = example_text(ex)
                if len(out.problems) < MAX_PROBLEMS:
                    out.problems.append({"row": n, "reason": f"personal data ({types})", "action": "masked"})
        if dupes is not None:
            repeat = dupes.check(str(n), _parts(ex))
            if repeat:
                drop(n, repeat)
                continue
        tokens = count_tokens(ex) if count_tokens else len(text)
        if max_tokens and tokens > max_tokens and chosen != "text":  # text is cut into blocks to train on
            drop(n, f"{tokens} tokens, longer than the limit of {max_tokens}")
            continue
        out.examples.append((n, ex))
        out.tokens.append(tokens)
    return out


def split(n: int, seed: int, validation: float, test: float) -> builtins.list[str]:
    """A split name for each of n examples: a seeded shuffle, cut by the fractions (each split that
    is asked for gets at least one example once there are three)."""
    order = list(range(n))
    random.Random(seed).shuffle(order)
    n_val = round(n * validation) if validation else 0
    n_test = round(n * test) if test else 0
    if n >= 3:
        n_val = max(n_val, 1 if validation else 0)
        n_test = max(n_test, 1 if test else 0)
    names = ["train"] * n
    for i, idx in enumerate(order):
        if i < n_val:
            names[idx] = "validation"
        elif i < n_val + n_test:
            names[idx] = "test"
    return names


def statistics(tokens: builtins.list[int], splits: builtins.list[str]) -> dict[str, Any]:
    if not tokens:
        return {"rows": 0, "tokens": 0}
    top = max(tokens)
    edges = [0, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192]
    edges = [e for e in edges if e < top] + [top]
    hist = [
        {"up_to": hi, "rows": sum(1 for t in tokens if lo < t <= hi or (lo == 0 and t == 0))}
        for lo, hi in zip(edges, edges[1:])
    ]
    ordered = sorted(tokens)
    return {
        "rows": len(tokens),
        "tokens": sum(tokens),
        "tokens_mean": round(sum(tokens) / len(tokens), 1),
        "tokens_median": ordered[len(ordered) // 2],
        "tokens_max": top,
        "histogram": hist,
        "splits": dict(Counter(splits)),
    }


# -- the service ----------------------------------------------------------------------------------
class DatasetRecord(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    version: int
    kind: str
    source: dict[str, Any]
    rows: int
    stats: dict[str, Any]
    problems: builtins.list[dict[str, Any]]
    splits: dict[str, Any]
    note: str
    created_at: datetime


_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


class DatasetService:
    def __init__(
        self, db: Database, data_dir: Path, counter: Callable[[str | None], tuple[Callable[[dict], int], int | None]]
    ):
        """`counter(model)` gives a function counting an example's tokens with that model's
        tokenizer, and the model's context window (the longest example it keeps by default)."""
        self.db = db
        self.root = Path(data_dir) / "datasets"
        self._counter = counter

    def path(self, dataset_id: str) -> Path:
        return self.root / f"{dataset_id}.jsonl"

    def create(
        self,
        name: str,
        rows: Iterable[tuple[int, Any]],
        *,
        source: dict[str, Any],
        kind: Kind | None = None,
        model: str | None = None,
        max_tokens: int | None = None,
        personal_data: Literal["mask", "drop", "keep"] = "mask",
        dedupe: bool = True,
        seed: int = 0,
        validation: float = 0.1,
        test: float = 0.1,
        note: str = "",
    ) -> DatasetRecord:
        """A new version of dataset `name` from rows; a DatasetError (and nothing stored) when no
        row is a valid example."""
        if not _NAME.match(name or ""):
            raise InvalidInput(
                "a dataset name is 1-100 letters, digits, '.', '_' or '-', starting with a letter or digit",
                param="name",
            )
        if kind is not None and kind not in KINDS:
            raise InvalidInput(f"kind must be one of {', '.join(KINDS)}", param="kind")
        if not (0 <= validation < 1 and 0 <= test < 1 and validation + test < 1):
            raise InvalidInput("validation and test are fractions that leave some examples to train on", param="split")
        count, window = self._counter(model)
        if max_tokens is None:
            max_tokens = window  # an example the model cannot read whole is no example for it
        checked = check_rows(
            rows, count_tokens=count, max_tokens=max_tokens, kind=kind, personal_data=personal_data, dedupe=dedupe
        )
        if not checked.examples:
            raise DatasetError(
                f"no valid example in the data ({checked.dropped} rows dropped): "
                + "; ".join(f"row {p['row']}: {p['reason']}" for p in checked.problems[:5]),
                checked.problems,
            )
        names = split(len(checked.examples), seed, validation, test)
        stats = statistics(checked.tokens, names)
        stats["dropped"] = checked.dropped
        stats["tokenizer"] = model or "default"
        self.root.mkdir(parents=True, exist_ok=True)
        with self.db.session() as s:
            version = (s.scalar(select(func.max(DatasetRow.version)).where(DatasetRow.name == name)) or 0) + 1
            row = DatasetRow(
                name=name,
                version=version,
                kind=checked.kind,
                source=source,
                rows=len(checked.examples),
                stats=stats,
                problems=checked.problems,
                splits={"seed": seed, "validation": validation, "test": test, **stats["splits"]},
                note=note,
            )
            s.add(row)
            s.flush()
            part = self.path(row.id).with_suffix(".part")
            with part.open("w", encoding="utf-8") as f:
                for (n, ex), sp, tok in zip(checked.examples, names, checked.tokens):
                    f.write(json.dumps({"row": n, "split": sp, "tokens": tok, **ex}, ensure_ascii=False) + "\n")
            part.replace(self.path(row.id))  # the row commits only once its examples are on disk
            return DatasetRecord.model_validate(row)

    def from_file(self, name: str, data: bytes, filename: str = "", **kwargs: Any) -> DatasetRecord:
        return self.create(name, read_rows(data, filename), source={"file": filename or None}, **kwargs)

    def from_feedback(self, name: str, kind: Kind = "chat", *, history: int = 6, **kwargs: Any) -> DatasetRecord:
        """Rated answers from chat: 👍 answers and 👎 answers with a correction become chat examples
        (the correction as the answer); 👎 answers with a correction become preference pairs."""
        if kind not in ("chat", "preference"):
            raise InvalidInput("a dataset from feedback is of kind chat or preference", param="kind")
        rows = list(self._feedback_rows(kind, history))
        if not rows:
            raise DatasetError(
                "no rated answers to learn from: rate answers 👍, or 👎 with a corrected answer"
                + (" (a preference pair needs a 👎 with a correction)" if kind == "preference" else "")
            )
        return self.create(name, rows, source={"feedback": kind}, kind=kind, **kwargs)

    def _feedback_rows(self, kind: Kind, history: int) -> Iterator[tuple[int, dict[str, Any]]]:
        with self.db.session() as s:
            rated = s.scalars(
                select(MessageRow)
                .where(MessageRow.rating.is_not(None), MessageRow.role == "assistant")
                .order_by(MessageRow.feedback_at, MessageRow.id)
            ).all()
            for msg in rated:
                if msg.rating is None or (msg.rating < 0 and not (msg.correction or "").strip()):
                    continue
                if kind == "preference" and not (msg.rating < 0 and msg.correction):
                    continue
                before = s.scalars(
                    select(MessageRow)
                    .where(MessageRow.conversation_id == msg.conversation_id, MessageRow.seq < msg.seq)
                    .where(MessageRow.role.in_(("system", "user", "assistant")))
                    .order_by(MessageRow.seq.desc())
                    .limit(history * 2)
                ).all()
                prompt = [{"role": m.role, "content": m.content} for m in reversed(before) if m.content]
                while prompt and prompt[0]["role"] == "assistant":  # a cut history starts with a question
                    prompt.pop(0)
                if kind == "preference":
                    yield msg.id, {"prompt": prompt, "chosen": msg.correction, "rejected": msg.content}
                else:
                    answer = msg.content if msg.rating > 0 else msg.correction
                    yield msg.id, {"messages": [*prompt, {"role": "assistant", "content": answer}]}

    def from_evaluation(
        self, name: str, run_id: str, *, metric: str | None = None, below: float | None = None, **kwargs: Any
    ) -> DatasetRecord:
        """An evaluation run's examples as chat examples (question → reference answer): all of them,
        or those whose `metric` scored below `below` (what the model got wrong)."""
        with self.db.session() as s:
            results = s.scalars(select(EvalResult).where(EvalResult.run_id == run_id).order_by(EvalResult.idx)).all()
            if not results:
                raise NotFound(f"no evaluation run {run_id!r} with results", param="run_id")
            rows = []
            for r in results:
                if metric is not None and below is not None:
                    score = (r.scores or {}).get(metric)
                    if not isinstance(score, int | float) or score >= below:
                        continue
                ex = r.example or {}
                question = ex.get("question") or ex.get("input") or ex.get("prompt")
                reference = ex.get("reference") or ex.get("answer") or ex.get("expected") or ex.get("output")
                if isinstance(reference, list):
                    reference = reference[0] if reference else None
                rows.append((r.idx + 1, {"prompt": question, "completion": reference}))
        if not rows:
            raise DatasetError(f"no result of run {run_id} scored {metric} below {below}")
        return self.create(
            name, rows, source={"evaluation": run_id, "metric": metric, "below": below}, kind="chat", **kwargs
        )

    def from_knowledge_base(self, name: str, kb: str, **kwargs: Any) -> DatasetRecord:
        """A knowledge base's documents as unlabelled text, for continued pre-training (domain
        adaptation): one example per document, its passages in order."""
        with self.db.session() as s:
            base = s.scalars(select(KnowledgeBase).where((KnowledgeBase.id == kb) | (KnowledgeBase.name == kb))).first()
            if base is None:
                raise NotFound(f"no knowledge base {kb!r}", param="knowledge_base")
            chunks = s.execute(
                select(KbChunk.document_id, KbChunk.text)
                .where(KbChunk.kb_id == base.id, KbChunk.level == 0)
                .order_by(KbChunk.document_id, KbChunk.seq)
            ).all()
            kb_id = base.id
        docs: dict[str, builtins.list[str]] = {}
        for doc, text in chunks:
            docs.setdefault(doc, []).append(text)
        if not docs:
            raise DatasetError(f"knowledge base {kb!r} holds no text yet")
        rows = [(n, {"text": "\n\n".join(parts)}) for n, parts in enumerate(docs.values(), 1)]
        kwargs.pop("max_tokens", None)  # long documents are cut into max_length blocks when trained on
        return self.create(name, rows, source={"knowledge_base": kb_id}, kind="text", **kwargs)

    # -- reading back ----------------------------------------------------------------------------
    def get(self, ref: str) -> DatasetRecord:
        """A dataset by id, NAME (its newest version) or NAME:VERSION."""
        with self.db.session() as s:
            row = s.get(DatasetRow, ref)
            if row is None:
                name, _, version = ref.partition(":")
                stmt = select(DatasetRow).where(DatasetRow.name == name)
                if version:
                    if not version.isdigit():
                        raise NotFound(f"no dataset {ref!r}", param="dataset")
                    stmt = stmt.where(DatasetRow.version == int(version))
                row = s.scalars(stmt.order_by(DatasetRow.version.desc()).limit(1)).first()
            if row is None:
                raise NotFound(f"no dataset {ref!r}", param="dataset")
            return DatasetRecord.model_validate(row)

    def list(self, name: str | None = None) -> builtins.list[DatasetRecord]:
        stmt = select(DatasetRow).order_by(DatasetRow.created_at.desc())
        if name:
            stmt = stmt.where(DatasetRow.name == name)
        with self.db.session() as s:
            return [DatasetRecord.model_validate(r) for r in s.scalars(stmt)]

    def examples(self, ref: str, split_name: str | None = None) -> builtins.list[dict[str, Any]]:
        record = self.get(ref)
        try:
            lines = self.path(record.id).read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            raise NotFound(
                f"the examples of dataset {ref!r} are gone from the data directory", param="dataset"
            ) from None
        rows = [json.loads(line) for line in lines if line.strip()]
        return [r for r in rows if split_name is None or r["split"] == split_name]

    def delete(self, ref: str) -> None:
        record = self.get(ref)
        with self.db.session() as s:
            row = s.get(DatasetRow, record.id)
            if row is not None:
                s.delete(row)
        self.path(record.id).unlink(missing_ok=True)
