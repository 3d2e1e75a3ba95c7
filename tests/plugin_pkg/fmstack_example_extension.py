"""One of each fmstack extension point, as another package would write them."""

from __future__ import annotations

import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from fmstack.agents import Tool, ToolEnv, ToolSpec, tool_kind
from fmstack.evaluation.scoring import MetricContext, metric
from fmstack.guardrails.policies import CheckContext, Finding, PolicyEnv, guardrail_policy
from fmstack.knowledge.loaders import LoadedDocument, Section, loader
from fmstack.models.base import ChatModel, ModelInfo
from fmstack.models.registry import chat_provider
from fmstack.models.types import Finish, TextDelta, Usage, UsageEvent


# -- a chat provider: repeats the last message backwards ---------------------------------------------
class Backwards(ChatModel):
    def __init__(self, info: ModelInfo):
        self.info = info

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def stream(self, messages, params):
        text = (messages[-1].content or "")[::-1]
        yield TextDelta(text)
        yield UsageEvent(Usage(self.count_message_tokens(messages), self.count_tokens(text)))
        yield Finish("stop")


@chat_provider("backwards")
def backwards(info, spec, settings) -> ChatModel:
    return Backwards(info)


# -- a file format: "key: value" lines, one section per key -------------------------------------------
@loader("keyvalue", ".kv")
def load_kv(data: bytes, options: dict) -> LoadedDocument:
    sections = []
    for line in data.decode("utf-8").splitlines():
        key, _, value = line.partition(":")
        if value.strip():
            sections.append(Section(value.strip(), heading=[key.strip()]))
    return LoadedDocument("keyvalue", sections, title="key-value file")


# -- a guardrail policy: no long digit runs (order numbers, say) --------------------------------------
class NoDigitsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    longest: int = 3
    action: Literal["block", "flag"] = "block"


class NoDigits:
    def __init__(self, config: NoDigitsConfig):
        self.config = config

    def check(self, ctx: CheckContext) -> list[Finding]:
        import re

        m = re.search(r"\d{" + str(self.config.longest + 1) + ",}", ctx.text)
        if m is None:
            return []
        return [Finding("no_digits", "digits", self.config.action, ctx.source, start=m.start(), end=m.end())]


@guardrail_policy("no_digits", NoDigitsConfig)
def no_digits(config: NoDigitsConfig, env: PolicyEnv) -> NoDigits:
    return NoDigits(config)


# -- a tool kind: a clock in a named time zone offset ---------------------------------------------------
class ClockTool(ToolSpec):
    type: Literal["clock"] = "clock"
    utc_offset_hours: int = 0


@tool_kind("clock", ClockTool)
def clock(spec: ClockTool, env: ToolEnv) -> list[Tool]:
    def now(args: dict) -> str:
        tz = datetime.timezone(datetime.timedelta(hours=spec.utc_offset_hours))
        return datetime.datetime(2026, 12, 1, 12, 0, tzinfo=datetime.UTC).astimezone(tz).isoformat()

    params = {"type": "object", "properties": {}, "additionalProperties": False}
    return [Tool("clock_now", "The time now (UTC offset as configured).", params, now)]


# -- a metric: how much of the output is upper case ----------------------------------------------------------
@metric("shouting")
def shouting(ctx: MetricContext) -> float:
    letters = [c for c in ctx.output if c.isalpha()]
    return sum(c.isupper() for c in letters) / len(letters) if letters else 0.0
