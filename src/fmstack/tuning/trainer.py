"""LoRA training of a local model on the CPU (or a GPU when there is one): transformers loads the
GGUF dequantised, peft adds the adapter, and this loop trains it — supervised (the assistant's
answer), DPO (preference pairs) or continued pre-training (plain text).

The loop is a plain PyTorch loop rather than `transformers.Trainer`: it checkpoints and resumes
exactly (adapter, optimiser, scheduler, step, data order), reports progress to the job, stops
between steps when cancelled, and costs nothing over a hand-written loop (bench/tune.py).
"""

from __future__ import annotations

import math
import os
import random
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..errors import ConfigError

Method = Literal["supervised", "dpo", "pretraining"]
# HF module names of a llama-architecture model -> llama.cpp tensor names
GGUF_NAMES = {
    "q_proj": "attn_q",
    "k_proj": "attn_k",
    "v_proj": "attn_v",
    "o_proj": "attn_output",
    "gate_proj": "ffn_gate",
    "up_proj": "ffn_up",
    "down_proj": "ffn_down",
}


class Hyperparameters(BaseModel):
    """What a tuning job may set; every field has a default that works on a laptop CPU."""

    model_config = ConfigDict(extra="forbid")

    epochs: int = Field(default=3, ge=1, le=100)
    learning_rate: float = Field(default=1e-3, gt=0, le=1)
    batch_size: int = Field(default=4, ge=1, le=256)
    gradient_accumulation: int = Field(default=1, ge=1, le=256)
    max_length: int = Field(default=512, ge=16, le=32768)
    lora_rank: int = Field(default=8, ge=1, le=256)
    lora_alpha: int = Field(default=16, gt=0)
    lora_dropout: float = Field(default=0.05, ge=0, lt=1)
    target_modules: list[str] = Field(default_factory=lambda: ["q_proj", "v_proj"])
    warmup_ratio: float = Field(default=0.05, ge=0, lt=1)
    weight_decay: float = Field(default=0.0, ge=0)
    dpo_beta: float = Field(default=0.1, gt=0)
    checkpoint_every: int = Field(default=0, ge=0)  # steps; 0: about four a run
    eval_every: int = Field(default=0, ge=0)  # steps; 0: at each checkpoint
    max_steps: int = Field(default=0, ge=0)  # 0: as many as the epochs take
    dtype: Literal["float32", "bfloat16"] = "float32"
    threads: int = Field(default=0, ge=0)  # 0: the server's setting
    # what is served: "auto" (the adapter merged into the base, quantised to the base's type),
    # "adapter" (the LoRA applied over the base at run time), or a llama.cpp type (Q8_0, Q4_K_M…)
    export: str = "auto"
    # after training: the tuned model against its base on the dataset's test split (chat datasets)
    evaluate: bool = True

    @field_validator("export")
    @classmethod
    def _export(cls, v: str) -> str:
        from .export import QUANT_TYPES

        if v not in ("auto", "adapter") and v.upper() not in QUANT_TYPES:
            raise ValueError(f"export is auto, adapter or one of {', '.join(QUANT_TYPES)}")
        return v if v in ("auto", "adapter") else v.upper()


def require() -> None:
    """A clear error when the training libraries are not installed."""
    missing = []
    for module in ("torch", "transformers", "peft", "gguf"):
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    if missing:
        raise ConfigError(
            f"fine-tuning needs {', '.join(missing)}: pip install 'fmstack[tune]' "
            "(on a CPU-only machine install torch from its CPU wheel first)"
        )


def load_base(path: Path, dtype: str = "float32", cache: Path | None = None):
    """Tokenizer and model from a GGUF file (dequantised) or a Hugging Face model folder. A GGUF's
    dequantised weights are kept under `cache` (keyed by the file's size and time), so the next job
    on the same base loads in a second instead of dequantising again."""
    import torch
    import transformers
    from transformers import AutoModelForCausalLM, AutoTokenizer

    transformers.logging.set_verbosity_error()  # progress is the job's to report, not stderr's
    transformers.logging.disable_progress_bar()
    torch_dtype = torch.bfloat16 if dtype == "bfloat16" else torch.float32
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing is downloaded
    if cache is not None and path.is_file():
        st = path.stat()
        keep = cache / f"{path.stem}-{st.st_size}-{int(st.st_mtime)}"
        if not (keep / "config.json").is_file():
            tok, model = load_base(path, "float32")
            part = keep.with_name(keep.name + ".part")
            shutil.rmtree(part, ignore_errors=True)
            model.save_pretrained(part)
            tok.save_pretrained(part)
            shutil.rmtree(keep, ignore_errors=True)
            part.rename(keep)
            if dtype == "float32":
                return tok, model
        path = keep
    if path.is_dir():
        tok = AutoTokenizer.from_pretrained(path, local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(path, dtype=torch_dtype, local_files_only=True)
    else:
        tok = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name, local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(
            path.parent, gguf_file=path.name, dtype=torch_dtype, local_files_only=True
        )
        # the weights are dequantised in memory: what remains of the GGUF "quantisation" is a label
        # that stops the model being saved
        model.hf_quantizer = None  # type: ignore[assignment]
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
    if model.config.model_type not in ("llama", "mistral", "qwen2"):
        raise ConfigError(f"models of architecture {model.config.model_type!r} cannot be tuned here yet")
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    return tok, model


# -- examples -> token ids ------------------------------------------------------------------------
@dataclass
class Encoded:
    ids: list[int]
    labels: list[int]  # -100 where the loss is not taken (the prompt)


def _template_ids(tok, messages: list[dict[str, str]], generation_prompt: bool) -> list[int]:
    out = tok.apply_chat_template(messages, tokenize=True, add_generation_prompt=generation_prompt, return_dict=True)
    return list(out["input_ids"])


def encode_chat(tok, messages: list[dict[str, str]], max_length: int) -> Encoded | None:
    """The whole conversation, with the loss on the last (assistant) turn only."""
    prompt = _template_ids(tok, messages[:-1], True)
    full = _template_ids(tok, messages, False)
    if full[: len(prompt)] != prompt:  # a template that renders history differently: fall back to the text
        prompt = full[: len(prompt)]
    full = full[:max_length]
    labels = [-100] * min(len(prompt), len(full)) + full[len(prompt) :]
    if all(x == -100 for x in labels):
        return None  # the answer was cut away entirely
    return Encoded(full, labels)


def encode_text(tok, text: str, max_length: int) -> list[Encoded]:
    ids = tok(text, add_special_tokens=False)["input_ids"]
    if tok.eos_token_id is not None:
        ids = ids + [tok.eos_token_id]
    return [Encoded(ids[i : i + max_length], ids[i : i + max_length]) for i in range(0, len(ids), max_length)]


def encode(tok, examples: Sequence[dict[str, Any]], method: Method, max_length: int) -> list[Any]:
    out: list[Any] = []
    for ex in examples:
        if method == "pretraining":
            out.extend(encode_text(tok, ex["text"], max_length))
        elif method == "dpo":
            chosen = encode_chat(tok, [*ex["messages"], {"role": "assistant", "content": ex["chosen"]}], max_length)
            rejected = encode_chat(tok, [*ex["messages"], {"role": "assistant", "content": ex["rejected"]}], max_length)
            if chosen and rejected:
                out.append((chosen, rejected))
        else:
            enc = encode_chat(tok, ex["messages"], max_length)
            if enc:
                out.append(enc)
    return out


def _batch(items: Sequence[Encoded], pad: int):
    import torch

    width = max(len(e.ids) for e in items)
    ids = torch.full((len(items), width), pad, dtype=torch.long)
    labels = torch.full((len(items), width), -100, dtype=torch.long)
    mask = torch.zeros((len(items), width), dtype=torch.long)
    for i, e in enumerate(items):
        ids[i, : len(e.ids)] = torch.tensor(e.ids)
        labels[i, : len(e.labels)] = torch.tensor(e.labels)
        mask[i, : len(e.ids)] = 1
    return ids, labels, mask


def _sequence_logps(model, items: Sequence[Encoded], pad: int):
    """Sum of the log-probabilities of each item's labelled tokens."""
    import torch

    ids, labels, mask = _batch(items, pad)
    device = next(model.parameters()).device
    ids, labels, mask = ids.to(device), labels.to(device), mask.to(device)
    logits = model(input_ids=ids, attention_mask=mask).logits[:, :-1].float()
    target = labels[:, 1:]
    keep = target != -100
    logps = torch.log_softmax(logits, dim=-1).gather(-1, target.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    return (logps * keep).sum(-1)


def _tokens(item: Any) -> int:
    if isinstance(item, tuple):
        return len(item[0].ids) + len(item[1].ids)
    return len(item.ids)


# -- the loop -------------------------------------------------------------------------------------
Progress = Callable[[dict[str, Any]], None]


@dataclass
class Outcome:
    steps: int
    total_steps: int
    trained_tokens: int
    train_loss: float | None
    valid_loss: float | None
    base_valid_loss: float | None
    tokens_per_second: float
    seconds: float
    cancelled: bool
    resumed_from: int | None
    curve: list[dict[str, Any]]


class Trainer:
    def __init__(
        self,
        base_path: Path,
        method: Method,
        hp: Hyperparameters,
        out_dir: Path,
        *,
        seed: int = 0,
        threads: int | None = None,
        cache: Path | None = None,
    ):
        require()
        import torch

        self.method, self.hp, self.out_dir, self.seed = method, hp, Path(out_dir), seed
        if hp.threads or threads:
            torch.set_num_threads(hp.threads or threads or 1)
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        self.tok, base = load_base(base_path, hp.dtype, cache)
        from peft import LoraConfig, get_peft_model

        names = {n.rsplit(".", 1)[-1] for n, _ in base.named_modules()}
        unknown = [m for m in hp.target_modules if m not in names or m not in GGUF_NAMES]
        if unknown:
            raise ConfigError(
                f"target_modules {unknown} are not projections of this model; choose from {sorted(GGUF_NAMES)}"
            )
        config = LoraConfig(
            r=hp.lora_rank,
            lora_alpha=hp.lora_alpha,
            lora_dropout=hp.lora_dropout,
            target_modules=list(hp.target_modules),
            task_type="CAUSAL_LM",
        )
        torch.manual_seed(seed)
        self.model = get_peft_model(base, config).to(self.device)
        self.pad = self.tok.pad_token_id

    # -- losses ---------------------------------------------------------------------------------
    def _loss(self, batch: Sequence[Any], reference: dict[int, tuple[float, float]] | None = None, keys=()):
        import torch
        import torch.nn.functional as F

        if self.method == "dpo":
            chosen = _sequence_logps(self.model, [c for c, _ in batch], self.pad)
            rejected = _sequence_logps(self.model, [r for _, r in batch], self.pad)
            ref = torch.tensor([reference[k] for k in keys]) if reference else torch.zeros((len(batch), 2))
            margin = (chosen - ref[:, 0].to(chosen)) - (rejected - ref[:, 1].to(rejected))
            return -F.logsigmoid(self.hp.dpo_beta * margin).mean()
        ids, labels, mask = _batch(batch, self.pad)
        out = self.model(
            input_ids=ids.to(self.device), attention_mask=mask.to(self.device), labels=labels.to(self.device)
        )
        return out.loss

    def _reference(self, items: Sequence[Any]) -> dict[int, tuple[float, float]]:
        """DPO's reference log-probabilities: the base model's (the adapter switched off), once."""
        import torch

        ref: dict[int, tuple[float, float]] = {}
        with torch.no_grad(), self.model.disable_adapter():
            for i, (c, r) in enumerate(items):
                ref[i] = (
                    float(_sequence_logps(self.model, [c], self.pad)[0]),
                    float(_sequence_logps(self.model, [r], self.pad)[0]),
                )
        return ref

    def evaluate(self, items: Sequence[Any], reference: dict[int, tuple[float, float]] | None = None) -> float | None:
        import torch

        if not items:
            return None
        self.model.eval()
        total, n = 0.0, 0
        with torch.no_grad():
            for i in range(0, len(items), self.hp.batch_size):
                chunk = items[i : i + self.hp.batch_size]
                keys = range(i, i + len(chunk))
                total += float(self._loss(chunk, reference, keys)) * len(chunk)
                n += len(chunk)
        self.model.train()
        return total / n

    # -- checkpoints ----------------------------------------------------------------------------
    def _checkpoints(self) -> list[Path]:
        found = [p for p in self.out_dir.glob("checkpoint-*") if (p / "state.pt").is_file()]
        return sorted(found, key=lambda p: int(p.name.rsplit("-", 1)[1]))

    def _save(self, step: int, epoch: int, position: int, optimizer, scheduler, extra: dict[str, Any]) -> Path:
        import torch

        final = self.out_dir / f"checkpoint-{step}"
        part = self.out_dir / f".checkpoint-{step}.part"
        shutil.rmtree(part, ignore_errors=True)
        self.model.save_pretrained(str(part))
        torch.save(
            {
                "step": step,
                "epoch": epoch,
                "position": position,
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "torch_rng": torch.get_rng_state(),
                "extra": extra,
            },
            part / "state.pt",
        )
        shutil.rmtree(final, ignore_errors=True)
        part.rename(final)  # a checkpoint is there whole or not at all
        for old in self._checkpoints()[:-2]:  # the last two are kept
            shutil.rmtree(old, ignore_errors=True)
        return final

    def _restore(self, optimizer, scheduler) -> dict[str, Any] | None:
        import torch
        from peft import set_peft_model_state_dict
        from safetensors.torch import load_file

        for ckpt in reversed(self._checkpoints()):
            try:
                state = torch.load(ckpt / "state.pt", weights_only=False)
                weights = load_file(ckpt / "adapter_model.safetensors")
            except Exception:  # a damaged checkpoint: try the one before
                continue
            set_peft_model_state_dict(self.model, weights)
            optimizer.load_state_dict(state["optimizer"])
            scheduler.load_state_dict(state["scheduler"])
            torch.set_rng_state(state["torch_rng"])
            return state
        return None

    # -- training -------------------------------------------------------------------------------
    def train(
        self,
        train_examples: Sequence[dict[str, Any]],
        valid_examples: Sequence[dict[str, Any]] = (),
        *,
        progress: Progress | None = None,
        on_checkpoint: Callable[[int, Path, dict[str, Any]], None] | None = None,
        on_resume: Callable[[int], None] | None = None,
        cancelled: Callable[[], bool] = lambda: False,
    ) -> Outcome:
        import torch
        from transformers import get_linear_schedule_with_warmup

        hp = self.hp
        self.out_dir.mkdir(parents=True, exist_ok=True)
        items = encode(self.tok, train_examples, self.method, hp.max_length)
        valid = encode(self.tok, valid_examples, self.method, hp.max_length)
        if not items:
            raise ConfigError("no training example fits max_length once encoded; raise max_length")
        per_epoch = math.ceil(len(items) / (hp.batch_size * hp.gradient_accumulation))
        total_steps = per_epoch * hp.epochs
        if hp.max_steps:
            total_steps = min(total_steps, hp.max_steps)
        every = hp.checkpoint_every or max(1, math.ceil(total_steps / 4))
        eval_every = hp.eval_every or every
        params = [p for p in self.model.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(params, lr=hp.learning_rate, weight_decay=hp.weight_decay)
        scheduler = get_linear_schedule_with_warmup(optimizer, int(total_steps * hp.warmup_ratio), total_steps)
        ref_train = self._reference(items) if self.method == "dpo" else None
        ref_valid = self._reference(valid) if self.method == "dpo" else None

        state = self._restore(optimizer, scheduler)
        step = state["step"] if state else 0
        epoch = state["epoch"] if state else 0
        position = state["position"] if state else 0
        extra = state["extra"] if state else {}
        curve: list[dict[str, Any]] = list(extra.get("curve", []))
        trained = int(extra.get("trained_tokens", 0))
        base_valid = extra.get("base_valid_loss")
        if state is None:
            base_valid = self.evaluate(valid, ref_valid)
        last_valid = extra.get("valid_loss", base_valid)
        started, tokens_now, run_loss = time.monotonic(), 0, None
        resumed_from = step if state else None
        if resumed_from is not None and on_resume:
            on_resume(resumed_from)

        def outcome(stopped: bool) -> Outcome:
            seconds = time.monotonic() - started
            return Outcome(
                steps=step,
                total_steps=total_steps,
                trained_tokens=trained,
                train_loss=run_loss,
                valid_loss=last_valid,
                base_valid_loss=base_valid,
                tokens_per_second=tokens_now / seconds if seconds > 0 else 0.0,
                seconds=seconds,
                cancelled=stopped,
                resumed_from=resumed_from,
                curve=curve,
            )

        self.model.train()
        while step < total_steps and epoch < hp.epochs:
            order = list(range(len(items)))
            random.Random(self.seed * 1000 + epoch).shuffle(order)  # the same order again after a resume
            per_step = hp.batch_size * hp.gradient_accumulation
            while position < len(order) and step < total_steps:
                if cancelled():
                    return outcome(True)
                chunk = order[position : position + per_step]
                losses = []
                for i in range(0, len(chunk), hp.batch_size):
                    keys = chunk[i : i + hp.batch_size]
                    batch = [items[k] for k in keys]
                    loss = self._loss(batch, ref_train, keys) * (len(keys) / len(chunk))
                    loss.backward()
                    losses.append(float(loss.detach()))
                    n_tok = sum(_tokens(b) for b in batch)
                    trained += n_tok
                    tokens_now += n_tok
                torch.nn.utils.clip_grad_norm_(params, 1.0)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)
                position += len(chunk)
                step += 1
                run_loss = sum(losses)
                point: dict[str, Any] = {"step": step, "train_loss": round(run_loss, 4)}
                if step % eval_every == 0 or step == total_steps:
                    last_valid = self.evaluate(valid, ref_valid)
                    if last_valid is not None:
                        point["valid_loss"] = round(last_valid, 4)
                curve.append(point)
                elapsed = time.monotonic() - started
                speed = tokens_now / elapsed if elapsed > 0 else 0.0
                if progress:
                    progress(
                        {
                            "step": step,
                            "total_steps": total_steps,
                            "epoch": epoch + 1,
                            "epochs": hp.epochs,
                            "train_loss": round(run_loss, 4),
                            "valid_loss": None if last_valid is None else round(last_valid, 4),
                            "trained_tokens": trained,
                            "tokens_per_second": round(speed, 1),
                            "eta_seconds": round(
                                elapsed / max(1, step - (resumed_from or 0)) * (total_steps - step), 1
                            ),
                        }
                    )
                if step % every == 0 and step < total_steps:
                    saved = self._save(
                        step,
                        epoch,
                        position,
                        optimizer,
                        scheduler,
                        {
                            "curve": curve,
                            "trained_tokens": trained,
                            "base_valid_loss": base_valid,
                            "valid_loss": last_valid,
                        },
                    )
                    if on_checkpoint:
                        on_checkpoint(step, saved, point)
            if position >= len(order):
                epoch, position = epoch + 1, 0
        return outcome(False)

    def render_parts(self, example: dict[str, Any]) -> tuple[str, str]:
        """An example as the text the model reads (its chat template applied): the prompt, and
        the whole (prompt and answer). Plain text has no prompt."""
        if "text" in example:
            return "", example["text"]
        messages = list(example["messages"])
        if "chosen" in example:
            messages.append({"role": "assistant", "content": example["chosen"]})
        prompt = self.tok.apply_chat_template(messages[:-1], tokenize=False, add_generation_prompt=True)
        return prompt, self.tok.apply_chat_template(messages, tokenize=False)

    # -- export ---------------------------------------------------------------------------------
    def write_adapter(self, path: Path) -> Path:
        """The trained adapter as a llama.cpp LoRA adapter in GGUF (what `lora_path` loads)."""
        return write_gguf_adapter(self.model, path, self.hp.lora_alpha)


def _permute(w, n_head: int):
    """llama.cpp keeps q/k rows in the order its rotary embedding wants (convert_hf_to_gguf's permute)."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def write_gguf_adapter(peft_model, path: Path, alpha: float) -> Path:
    import gguf
    import numpy as np

    config = peft_model.base_model.model.config
    heads = {"q_proj": config.num_attention_heads, "k_proj": config.num_key_value_heads}
    params = dict(peft_model.named_parameters())
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_suffix(".part")
    writer = gguf.GGUFWriter(str(part), arch=config.model_type)
    writer.add_string("general.type", "adapter")
    writer.add_string("adapter.type", "lora")
    writer.add_float32("adapter.lora.alpha", float(alpha))
    found = 0
    for name, tensor in params.items():
        if ".lora_A." not in name:
            continue
        prefix = name.split(".lora_A.")[0]  # ...layers.{i}.self_attn.q_proj
        module = prefix.rsplit(".", 1)[1]
        layer = int(prefix.split(".layers.")[1].split(".")[0])
        a = tensor.detach().float().cpu().numpy().astype(np.float32)
        b = params[name.replace(".lora_A.", ".lora_B.")].detach().float().cpu().numpy().astype(np.float32)
        if module in heads:
            b = _permute(b, heads[module])
        target = f"blk.{layer}.{GGUF_NAMES[module]}.weight"
        writer.add_tensor(f"{target}.lora_a", a)
        writer.add_tensor(f"{target}.lora_b", b)
        found += 1
    if not found:
        raise ConfigError("the model has no LoRA weights to export")
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    part.replace(path)
    return path
