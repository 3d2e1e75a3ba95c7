"""Tools an agent can call: typed Python functions, the operations of an OpenAPI 3 document, and
knowledge-base retrieval. Every tool has a name, a description and a JSON schema for its arguments;
arguments are validated against it before anything runs, and a failure (bad arguments, an
exception, an HTTP error) comes back as an observation the model can read, never as a crash.
"""

from __future__ import annotations

import inspect
import json
import re
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from .. import jsonschemas
from ..errors import InvalidInput
from ..knowledge.service import KnowledgeService
from ..security import UrlPolicy


@dataclass
class Observation:
    """What a tool call gave back: its result as text, or the error the model should see."""

    tool: str
    content: str
    ok: bool = True
    data: Any = None


@dataclass
class Tool:
    name: str
    description: str
    parameters: dict  # JSON schema of the arguments (an object)
    run: Callable[[dict], Any]  # receives validated arguments
    validate: Callable[[dict], dict] = field(default=lambda a: a)
    needs_confirmation: bool = False  # a person approves each call before it runs

    def to_openai(self) -> dict:
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": self.parameters},
        }

    def check(self, arguments: str | dict | None) -> dict | Observation:
        """The validated arguments, or the observation that tells the model what is wrong."""
        try:
            args = json.loads(arguments) if isinstance(arguments, str) else dict(arguments or {})
            if not isinstance(args, dict):
                raise ValueError("arguments must be a JSON object")
        except (ValueError, TypeError) as e:
            return Observation(
                self.name,
                f"error: the arguments are not a JSON object ({e}); "
                f"expected: {json.dumps(self.parameters, ensure_ascii=False)}",
                ok=False,
            )
        try:
            return self.validate(args)
        except ValidationError as e:
            problems = "; ".join(
                f"{'.'.join(str(x) for x in err['loc']) or 'arguments'}: {err['msg']}" for err in e.errors()
            )
            return Observation(self.name, f"error: invalid arguments for {self.name}: {problems}", ok=False)
        except ArgumentError as e:
            return Observation(self.name, f"error: invalid arguments for {self.name}: {e}", ok=False)

    def call(self, arguments: str | dict | None) -> Observation:
        """Parse, validate, run. Never raises for what the model got wrong or the tool hit."""
        args = self.check(arguments)
        if isinstance(args, Observation):
            return args
        try:
            result = self.run(args)
        except Exception as e:  # the tool's own failure: the model sees it and may try otherwise
            return Observation(self.name, f"error: {self.name} failed: {type(e).__name__}: {e}", ok=False)
        text = result if isinstance(result, str) else json.dumps(result, ensure_ascii=False, default=str)
        return Observation(self.name, text, data=result)


_ARG_LINE = re.compile(r"^\s*(\w+)\s*(?:\([^)]*\))?\s*:\s*(.+)$")


def _docstring(fn: Callable) -> tuple[str, dict[str, str]]:
    """The summary and the per-argument descriptions of a Google- or reST-style docstring."""
    doc = inspect.getdoc(fn) or ""
    summary_lines, params, section = [], {}, None
    for line in doc.splitlines():
        stripped = line.strip()
        if stripped.lower() in ("args:", "arguments:", "parameters:", "params:"):
            section = "args"
            continue
        if stripped.lower() in ("returns:", "raises:", "yields:", "examples:", "example:"):
            section = "other"
            continue
        m = re.match(r"^:param\s+(?:\w+\s+)?(\w+):\s*(.+)$", stripped)
        if m:
            params[m.group(1)] = m.group(2)
            continue
        if section == "args":
            m = _ARG_LINE.match(line)
            if m:
                params[m.group(1)] = m.group(2).strip()
            continue
        if section is None and stripped:
            summary_lines.append(stripped)
        elif section is None and summary_lines:
            section = "body"
    return " ".join(summary_lines), params


def function_tool(
    fn: Callable, *, name: str | None = None, description: str | None = None, needs_confirmation: bool = False
) -> Tool:
    """A tool from a typed function: the schema comes from its signature (types, defaults) and its
    docstring (summary, argument descriptions)."""
    summary, arg_docs = _docstring(fn)
    try:
        hints = typing.get_type_hints(fn, include_extras=True)  # resolves string annotations
    except (NameError, TypeError):
        hints = {}
    fields: dict[str, Any] = {}
    for pname, p in inspect.signature(fn).parameters.items():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        annotation = hints.get(pname, p.annotation if p.annotation is not inspect.Parameter.empty else Any)
        default = p.default if p.default is not inspect.Parameter.empty else ...
        fields[pname] = (annotation, Field(default, description=arg_docs.get(pname)))
    model = create_model(f"{fn.__name__}_args", __config__=ConfigDict(extra="forbid"), **fields)
    schema = model.model_json_schema()
    schema.pop("title", None)
    for prop in schema.get("properties", {}).values():
        prop.pop("title", None)
    return Tool(
        name=name or fn.__name__,
        description=description or summary or fn.__name__,
        parameters=schema,
        run=lambda args: fn(**args),
        validate=lambda args: model.model_validate(args).model_dump(),
        needs_confirmation=needs_confirmation,
    )


def openapi_tools(
    spec: dict,
    *,
    base_url: str | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 30.0,
    confirm: Callable[[str, str], bool] | None = None,
    outbound: UrlPolicy | None = None,
) -> list[Tool]:
    """One tool per operation of an OpenAPI 3 document (named by its operationId). Path and query
    parameters and a JSON request body become the tool's arguments; the call is made with httpx.
    `confirm(method, path)` marks operations that need a person's approval (default: none);
    `outbound`, when given, checks every call's URL (redirects included) before it is made."""
    if not isinstance(spec, dict) or "paths" not in spec:
        raise InvalidInput("not an OpenAPI 3 document: it has no 'paths'", param="spec")
    servers = spec.get("servers") or [{}]
    root = (base_url or servers[0].get("url") or "").rstrip("/")
    if not root:
        raise InvalidInput("give base_url: the OpenAPI document names no server", param="base_url")
    if outbound is not None:
        outbound.check(root, param="base_url")
    tools = []
    for path, item in spec["paths"].items():
        shared = item.get("parameters", [])
        for method in ("get", "post", "put", "patch", "delete"):
            op = item.get(method)
            if op is None:
                continue
            op_id = op.get("operationId") or re.sub(r"\W+", "_", f"{method}_{path}").strip("_")
            params = [_resolve(spec, p) for p in [*shared, *op.get("parameters", [])]]
            props, required = {}, []
            for p in params:
                if p.get("in") not in ("path", "query"):
                    continue
                props[p["name"]] = {
                    **_resolve(spec, p.get("schema", {"type": "string"})),
                    **({"description": p["description"]} if p.get("description") else {}),
                }
                if p.get("required") or p.get("in") == "path":
                    required.append(p["name"])
            body_schema = None
            content = (op.get("requestBody") or {}).get("content", {})
            if "application/json" in content:
                body_schema = _inline(spec, content["application/json"].get("schema", {}))
                props["body"] = body_schema
                if (op.get("requestBody") or {}).get("required"):
                    required.append("body")
            schema = {"type": "object", "properties": props, "required": required, "additionalProperties": False}
            tools.append(
                Tool(
                    name=op_id,
                    description=(op.get("summary") or op.get("description") or f"{method.upper()} {path}").strip(),
                    parameters=schema,
                    run=_http_call(root, method, path, params, headers or {}, timeout, outbound),
                    validate=schema_validator(schema),
                    needs_confirmation=bool(confirm and confirm(method.upper(), path)),
                )
            )
    return tools


def _resolve(spec: dict, node: dict) -> dict:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = spec
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node


def _inline(spec: dict, node: Any) -> Any:
    """The schema with every $ref replaced by what it points to (models read plain schemas best)."""
    node = _resolve(spec, node) if isinstance(node, dict) else node
    if isinstance(node, dict):
        return {k: _inline(spec, v) for k, v in node.items()}
    if isinstance(node, list):
        return [_inline(spec, v) for v in node]
    return node


class ArgumentError(ValueError):
    """Arguments that do not fit a tool's schema (the message lists every problem)."""


def schema_validator(schema: dict) -> Callable[[dict], dict]:
    """Arguments checked against a JSON schema; every problem is listed, named by where it is."""
    try:
        problems = jsonschemas.checker(schema, param="tools")
    except InvalidInput as e:
        raise InvalidInput(f"the tool's argument schema is {e.message}", param="tools") from None

    def validate(args: dict) -> dict:
        found = problems(args)
        if found:
            raise ArgumentError("; ".join(found))
        return args

    return validate


def _http_call(
    root: str, method: str, path: str, params: list[dict], headers: dict, timeout: float, outbound: UrlPolicy | None
):
    def run(args: dict) -> Any:
        url_path = path
        query = {}
        for p in params:
            if p.get("name") not in args:
                continue
            if p.get("in") == "path":
                url_path = url_path.replace("{" + p["name"] + "}", str(args[p["name"]]))
            elif p.get("in") == "query":
                query[p["name"]] = args[p["name"]]
        hooks = {"request": [outbound.hook]} if outbound is not None else {}
        with httpx.Client(event_hooks=hooks, timeout=timeout) as http:
            r = http.request(method.upper(), root + url_path, params=query, json=args.get("body"), headers=headers)
        try:
            data = r.json()
        except ValueError:
            data = r.text
        if r.status_code >= 400:
            raise RuntimeError(f"HTTP {r.status_code}: {data}")
        return data

    return run


def knowledge_tool(knowledge: KnowledgeService, kb: str, *, top_k: int = 4) -> Tool:
    """Search a knowledge base: the passages (with source and page) that answer a query."""

    def run(args: dict) -> list[dict]:
        hits = knowledge.retrieve(kb, args["query"], top_k=args.get("top_k") or top_k)
        return [{"source": h.title, "page": h.page, "text": h.text} for h in hits]

    class Args(BaseModel):
        model_config = ConfigDict(extra="forbid")
        query: str = Field(min_length=1, description="What to look for, in the words of the documents")
        top_k: int | None = Field(default=None, ge=1, le=20, description="How many passages (default 4)")

    schema = Args.model_json_schema()
    schema.pop("title", None)
    return Tool(
        name=f"search_{re.sub(r'[^A-Za-z0-9_]', '_', kb)}",
        description=f"Search the knowledge base '{kb}' and return the passages that match the query.",
        parameters=schema,
        run=run,
        validate=lambda a: Args.model_validate(a).model_dump(),
    )


def canonical_arguments(arguments: str) -> str:
    """Tool-call arguments in one spelling (keys sorted), so equal calls compare equal."""
    try:
        return json.dumps(json.loads(arguments), sort_keys=True, ensure_ascii=False)
    except (ValueError, TypeError):
        return arguments
