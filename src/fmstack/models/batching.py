"""Continuous batching for a local GGUF model: concurrent requests decoded together.

A 135M (or 7B) model on a CPU is bound by memory bandwidth, not arithmetic: reading the weights
once for eight sequences costs little more than reading them for one. So instead of serving
requests one after another, the requests that are generating at the same time share every
llama.cpp decode call — one sequence per request in one batch (llama.cpp's batch API, a KV cache
shared by all sequences), each request with its own sampler, and a request joins or leaves the
batch between two tokens. A finished sequence's cells stay as a cache: a request that joins a
running batch and starts with the same tokens (a shared system prompt, another user's turn of the
same conversation) takes that slot and decodes only what is new; idle caches are dropped when
cells are needed. A request that finds the batch empty starts on an empty cache, so a request
decoded alone always gives the same answer, the one the one-at-a-time path gives (cells of other
sequences, even masked, change the order of llama.cpp's sums and can flip a near-tie token). Streaming, stop sequences, max_tokens, cancellation (the caller goes
away: its sequence is dropped before the next token), usage and, where asked for, each token's log
probability and likeliest alternatives stay per request.

What it serves: chat and JSON-constrained text (the grammar is a per-sequence sampler). Tool calls
and label scoring keep the model's one-at-a-time path; they share the model's FairLock with the
batch, which stops taking new requests while one of them waits and resumes after it.

Sampling is llama-cpp-python's own chain (penalties over the last 64 generated tokens, top-k,
typical, top-p, min-p, temperature, a seeded draw; greedy at temperature 0), built per sequence.
"""

from __future__ import annotations

import codecs
import collections
import contextvars
import ctypes
import math
import queue
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from ..errors import Busy, ModelError
from .queue import FairLock
from .types import (
    Event,
    Finish,
    GenerationParams,
    StopGeneration,
    TextDelta,
    TokenLogprob,
    TokenTrail,
    Usage,
    UsageEvent,
    finish_reason,
    token_text,
)

PENALTY_LAST_N = 64  # llama-cpp-python's last_n_tokens_size
DEFAULT_SEED = 0xFFFFFFFF  # llama.cpp: a random seed


@dataclass(eq=False)
class _Request:
    tokens: list[int]
    max_tokens: int
    params: GenerationParams
    stops: list[str]
    grammar: Any = None
    out: queue.SimpleQueue = field(default_factory=queue.SimpleQueue)
    cancelled: threading.Event = field(default_factory=threading.Event)
    seq: int = -1
    fed: int = 0  # prompt tokens decoded so far (or found in the slot's cache)
    kv: list[int] = field(default_factory=list)  # the tokens in its sequence's cells
    next_token: int | None = None  # sampled, to be decoded in the next step
    generated: int = 0
    sampler: Any = None
    held: str = ""  # text not yet sent: it may be the start of a stop sequence
    left: bool = False  # out of the batch, its cells freed
    decoder: Any = field(default_factory=lambda: codecs.getincrementaldecoder("utf-8")(errors="replace"))

    @property
    def budget(self) -> int:
        """KV cells this request can take at most."""
        return len(self.tokens) + self.max_tokens


def _common(a: Sequence[int], b: Sequence[int]) -> int:
    """Length of the common start of two token lists."""
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


class BatchedDecoder:
    """Decodes the text requests to one local model together. `llm` is the model's
    llama_cpp.Llama (its weights and tokenizer are shared; the batch has a context of its own)."""

    def __init__(
        self,
        llm: Any,
        *,
        name: str,
        slots: int,
        pool: int,
        lock: FairLock,
        executor: ThreadPoolExecutor,
        threads: int,
        n_batch: int = 512,
        max_waiting: int = 64,
    ):
        self.llm = llm
        self.name = name
        self.slots = slots
        self.pool = pool  # KV cells shared by all sequences: any one request fits alone
        self.lock = lock
        self.executor = executor
        self.threads = threads
        self.n_batch = n_batch
        self.max_waiting = max_waiting
        self._mutex = threading.Lock()
        self._changed = threading.Condition(self._mutex)  # a request left the batch, or the loop stopped
        self._stops = 0  # times the loop has given the model back
        self._pending: collections.deque[_Request] = collections.deque()
        self._active: list[_Request] = []
        self._cached: dict[int, list[int]] = {}  # an idle slot -> the tokens its cells still hold
        self._running = False  # a loop holds the FairLock, or a starter is waiting for it
        self._ctx: Any = None
        self._pieces: dict[int, bytes] = {}  # token -> its text's bytes
        self._batch: Any = None
        self.steps = 0  # decode calls made (for tests and benches: how much was shared)
        self.tokens_decoded = 0
        self.tokens_reused = 0  # prompt tokens found in a slot's cache instead of decoded

    # -- the caller's side ---------------------------------------------------------------------
    def stream(
        self,
        tokens: Sequence[int],
        max_tokens: int,
        params: GenerationParams,
        stops: Sequence[str],
        grammar: Any = None,
    ) -> Iterator[Event]:
        req = _Request(list(tokens), max_tokens, params, [s for s in stops if s], grammar)
        with self._mutex:
            if len(self._pending) + len(self._active) >= self.max_waiting + self.slots:
                raise Busy(
                    f"model {self.name!r} is busy and its queue is full ({self.max_waiting} waiting at most, FMSTACK_MAX_QUEUE); try again shortly"
                )
            self._pending.append(req)
            start = not self._running
            self._running = True
        if start:
            self._start()
        return self._events(req)

    def _events(self, req: _Request) -> Iterator[Event]:
        done = False
        trail = TokenTrail()  # token logprobs (where asked for) go out with the text they made
        try:
            later = None
            while True:
                kind, value = later or req.out.get()
                later = None
                if kind == "logprob":
                    trail.add(TextDelta("", [value]))
                elif kind == "text":
                    # what arrived while the caller was busy goes out as one piece: under load a
                    # caller that wakes per token takes the CPU the decoding needs
                    while True:
                        try:
                            later = req.out.get_nowait()
                        except queue.Empty:
                            break
                        if later[0] == "logprob":
                            trail.add(TextDelta("", [later[1]]))
                        elif later[0] == "text":
                            value += later[1]
                        else:
                            break
                        later = None
                    try:
                        yield TextDelta(value, trail.take(len(value)))
                    except StopGeneration:  # the reader has enough: leave now, say what was generated
                        self._leave(req)
                        done = True
                        yield UsageEvent(Usage(prompt_tokens=len(req.tokens), completion_tokens=req.generated))
                        yield Finish("stop")
                        return
                elif kind == "end":
                    done = True
                    cut = trail.rest()  # a token the text was cut in (by a stop sequence)
                    if cut:
                        try:
                            yield TextDelta("", cut)
                        except StopGeneration:
                            pass  # it has ended anyway
                    yield UsageEvent(Usage(prompt_tokens=len(req.tokens), completion_tokens=req.generated))
                    yield Finish(finish_reason(value))
                    return
                else:
                    done = True
                    raise value
        finally:
            if not done:  # the caller went away
                self._leave(req)

    def _leave(self, req: _Request) -> None:
        """Take a sequence out of the batch before its next token; if it was the only one, the
        model is free when this returns."""
        stops = self._stops
        req.cancelled.set()
        with self._changed:
            self._changed.wait_for(
                lambda: (req.left or req.seq < 0) and (self._active or self._stops != stops or not self._running),
                timeout=60,
            )

    # -- the loop --------------------------------------------------------------------------------
    def _start(self) -> None:
        """Take the model's FairLock (behind any one-at-a-time request already waiting) on a thread
        of its own — the model thread must stay free for the request ahead — then run the loop."""

        def acquire_and_run() -> None:
            try:
                self.lock.acquire()
            except BaseException as e:  # the lock's queue is full
                self._fail_pending(e)
                return
            try:
                self.executor.submit(contextvars.copy_context().run, self._loop)
            except BaseException as e:  # the executor is shut down: the model is closing
                self.lock.release()
                self._fail_pending(ModelError(f"{self.name}: {e}"))

        threading.Thread(target=acquire_and_run, name=f"batch-{self.name}", daemon=True).start()

    def _fail_pending(self, error: BaseException) -> None:
        with self._changed:
            failed, self._pending = list(self._pending), collections.deque()
            self._running = False
            self._changed.notify_all()
        for req in failed:
            req.out.put(("error", error))

    def _loop(self) -> None:
        failed = False
        try:
            self._ensure_context()
            while True:
                with self._mutex:
                    self._admit()
                    if not self._active:  # done, or a one-at-a-time request waits: it goes first
                        return
                self._step()
        except BaseException as e:
            failed = True
            error = e if isinstance(e, ModelError) else ModelError(f"{self.name}: {e}")
            for req in list(self._active):
                self._finish(req, error=error)
            self._fail_pending(error)
        finally:
            self.lock.release()
            with self._changed:
                restart = bool(self._pending) and not failed
                self._running = restart
                self._stops += 1
                self._changed.notify_all()
            if restart:
                self._start()

    def _admit(self) -> None:
        """Move waiting requests into the batch while there are sequences and KV cells for them;
        none while a one-at-a-time request waits for the model (it goes once the batch drains)."""
        others_waiting = self.lock.waiting > 1
        free = [s for s in range(self.slots) if s not in {r.seq for r in self._active}]
        while self._pending and free and not others_waiting:
            req = self._pending[0]
            if req.cancelled.is_set():
                self._pending.popleft()
                continue
            if not self._active and self._cached:  # alone: on an empty cache (see the module's docstring)
                for other in list(self._cached):
                    self._drop(other)
            # the free slot whose cache shares the longest start with this prompt
            seq = max(free, key=lambda s: (_common(self._cached.get(s, []), req.tokens), -s))
            reuse = min(_common(self._cached.get(seq, []), req.tokens), len(req.tokens) - 1)
            used = sum(r.budget for r in self._active) + sum(len(c) for s, c in self._cached.items() if s != seq)
            for other in sorted((s for s in self._cached if s != seq), key=lambda s: len(self._cached[s])):
                if used + req.budget <= self.pool:
                    break
                used -= len(self._cached[other])
                self._drop(other)
            if used + req.budget > self.pool and self._active:
                break  # it waits for cells, and keeps its place
            self._pending.popleft()
            free.remove(seq)
            self._drop(seq, keep=reuse)
            req.seq, req.fed, req.kv = seq, reuse, req.tokens[:reuse]
            self.tokens_reused += reuse
            req.sampler = self._sampler(req)
            self._active.append(req)

    def _drop(self, seq: int, keep: int = 0) -> None:
        """Free an idle slot's cells from position `keep` on."""
        import llama_cpp as L

        cached = self._cached.pop(seq, [])
        if len(cached) > keep:
            L.llama_memory_seq_rm(L.llama_get_memory(self._ctx), seq, keep, -1)

    def _step(self) -> None:
        import llama_cpp as L

        for req in [r for r in self._active if r.cancelled.is_set()]:
            self._finish(req)
        if not self._active:
            return
        batch = self._batch
        batch.n_tokens = 0
        rows: dict[int, _Request] = {}

        def add(token: int, pos: int, seq: int, logits: bool) -> None:
            i = batch.n_tokens
            batch.token[i] = token
            batch.pos[i] = pos
            batch.n_seq_id[i] = 1
            batch.seq_id[i][0] = seq
            batch.logits[i] = logits
            batch.n_tokens = i + 1

        for req in self._active:  # one new token for each sequence that is generating
            if req.next_token is not None:
                add(req.next_token, len(req.kv), req.seq, True)
                req.kv.append(req.next_token)
                rows[batch.n_tokens - 1] = req
        room = self.n_batch - batch.n_tokens
        for req in self._active:  # prompts, in arrival order, as far as the batch has room
            if req.next_token is not None or req.fed >= len(req.tokens) or room <= 0:
                continue
            take = min(room, len(req.tokens) - req.fed)
            for j in range(req.fed, req.fed + take):
                add(req.tokens[j], j, req.seq, j == len(req.tokens) - 1)
            req.kv += req.tokens[req.fed : req.fed + take]
            req.fed += take
            room -= take
            if req.fed == len(req.tokens):
                rows[batch.n_tokens - 1] = req
        if batch.n_tokens == 0:
            return
        rc = L.llama_decode(self._ctx, batch)
        if rc != 0:
            for seq in list(self._cached):
                self._drop(seq)
            raise ModelError(f"{self.name}: llama_decode failed ({rc}) with {len(self._active)} sequences")
        self.steps += 1
        self.tokens_decoded += batch.n_tokens
        for row, req in rows.items():
            token = L.llama_sampler_sample(req.sampler.sampler, self._ctx, row)
            req.next_token = None
            if L.llama_vocab_is_eog(self._vocab, token):
                self._finish(req, reason="stop")
                continue
            req.generated += 1
            piece = self._piece(token)
            text = req.decoder.decode(piece)
            if req.params.logprobs is not None:
                req.out.put(("logprob", self._logprob(row, token, text, req.params.logprobs)))
            if self._emit(req, text):
                self._finish(req, reason="stop")
            elif req.generated >= req.max_tokens:
                self._finish(req, reason="length")
            else:
                req.next_token = token

    def _piece(self, token: int) -> bytes:
        """A token's bytes as text (special tokens render as nothing, as in llama-cpp-python)."""
        import llama_cpp as L

        piece = self._pieces.get(token)
        if piece is None:
            size = 64
            while True:
                buf = ctypes.create_string_buffer(size)
                n = L.llama_token_to_piece(self._vocab, token, buf, size, 0, False)
                if n >= 0:
                    piece = self._pieces[token] = buf.raw[:n]
                    break
                size = -n
        return piece

    def _logprob(self, row: int, token: int, text: str, top: int) -> TokenLogprob:
        """The sampled token's log probability in the model's distribution at batch row `row`
        (the logits before the sampler's penalties and temperature), and the `top` likeliest."""
        import llama_cpp as L
        import numpy as np

        logits = np.ctypeslib.as_array(L.llama_get_logits_ith(self._ctx, row), shape=(self._n_vocab,))
        peak = float(logits.max())
        norm = peak + math.log(float(np.exp(logits - peak).sum()))
        likeliest = np.argpartition(logits, -top)[-top:] if top else np.zeros(0, dtype=np.int64)
        best = sorted((int(t) for t in likeliest), key=lambda t: -logits[t])

        def entry(t: int) -> tuple[str, list[int], float]:
            piece = self._piece(t)
            return token_text(piece), list(piece), float(logits[t]) - norm

        name, raw, logprob = entry(token)
        return TokenLogprob(name, raw, logprob, [entry(t) for t in best], text)

    def _emit(self, req: _Request, text: str) -> bool:
        """Send what is certain; hold back what may be the start of a stop sequence. True when a
        stop sequence was generated (it is not sent)."""
        if not text:
            return False
        req.held += text
        if req.stops:
            hits = [i for i in (req.held.find(s) for s in req.stops) if i >= 0]
            if hits:
                if min(hits):
                    req.out.put(("text", req.held[: min(hits)]))
                req.held = ""
                return True
            keep = max((k for s in req.stops for k in range(1, len(s)) if req.held.endswith(s[:k])), default=0)
        else:
            keep = 0
        ready, req.held = req.held[: len(req.held) - keep], req.held[len(req.held) - keep :]
        if ready:
            req.out.put(("text", ready))
        return False

    def _finish(self, req: _Request, *, reason: str = "stop", error: BaseException | None = None) -> None:
        import llama_cpp as L

        with self._changed:
            if req in self._active:
                self._active.remove(req)
            req.left = True
            self._changed.notify_all()
        if self._ctx is not None and req.seq >= 0:
            if error is None:
                self._cached[req.seq] = req.kv  # kept for a request that starts the same way
            else:
                L.llama_memory_seq_rm(L.llama_get_memory(self._ctx), req.seq, -1, -1)
        if req.sampler is not None:
            req.sampler.close()
            req.sampler = None
        if error is not None:
            req.out.put(("error", error))
            return
        tail = req.held + req.decoder.decode(b"", final=True)  # a stop sequence's start that never finished
        if tail:
            req.out.put(("text", tail))
        req.out.put(("end", reason))

    # -- llama.cpp objects -----------------------------------------------------------------------
    def _ensure_context(self) -> None:
        import llama_cpp as L

        if self._ctx is not None:
            return
        own = self.llm.context_params  # the model's own settings (threads, KV types, attention)
        params = type(own).from_buffer_copy(own)
        params.n_ctx = self.pool
        params.n_batch = self.n_batch
        params.n_ubatch = self.n_batch
        params.n_seq_max = self.slots
        params.n_threads = self.threads
        params.n_threads_batch = self.threads
        params.kv_unified = True  # one pool of cells for all sequences: any one request can take it all
        ctx = L.llama_init_from_model(self.llm._model.model, params)
        if not ctx:
            raise ModelError(f"{self.name}: could not create a batch context of {self.pool} tokens")
        self._ctx = ctx
        self._vocab = L.llama_model_get_vocab(self.llm._model.model)
        self._n_vocab = self.llm.n_vocab()
        self._batch = L.llama_batch_init(self.n_batch, 0, self.slots)

    def _sampler(self, req: _Request) -> Any:
        """llama-cpp-python's sampling chain (Llama._init_sampler) for one request."""
        from llama_cpp import _internals

        p = req.params
        temp = 0.2 if p.temperature is None else p.temperature
        seed = DEFAULT_SEED if p.seed is None else p.seed & 0xFFFFFFFF
        s = _internals.LlamaSampler()
        s.add_penalties(
            n_vocab=self.llm.n_vocab(),
            penalty_last_n=PENALTY_LAST_N,
            penalty_repeat=1.0 if p.repetition_penalty is None else p.repetition_penalty,
            penalty_freq=p.frequency_penalty or 0.0,
            penalty_present=p.presence_penalty or 0.0,
        )
        if req.grammar is not None:
            s.add_grammar(self.llm._model, req.grammar)
        if temp < 0:
            s.add_dist(seed)
        elif temp == 0:
            s.add_greedy()
        else:
            s.add_top_k(40 if p.top_k is None else p.top_k)
            s.add_typical(1.0, 1)
            s.add_top_p(0.95 if p.top_p is None else p.top_p, 1)
            s.add_min_p(0.05, 1)
            s.add_temp(temp)
            s.add_dist(seed)
        return s

    def close(self) -> None:
        import llama_cpp as L

        if self._batch is not None:
            L.llama_batch_free(self._batch)
            self._batch = None
        if self._ctx is not None:
            L.llama_free(self._ctx)
            self._ctx = None
