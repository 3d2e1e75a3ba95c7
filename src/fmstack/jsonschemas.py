"""JSON schema checks shared by tool arguments and structured output: the schema itself is checked
once (with its own draft), and every problem of a value is listed by where it is
("date: Field required; divers: 0 is less than the minimum of 1")."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jsonschema
import regex

from .errors import InvalidInput

PATTERN_TIMEOUT = 0.25  # seconds a caller's `pattern` may search one string


def _bounded_pattern(validator: Any, pattern: str, instance: Any, schema: dict) -> Any:
    """`pattern`, searched by the `regex` module with a time limit: a schema is the caller's, and a
    pattern that backtracks without end must not hold the thread (jsonschema uses Python's `re`)."""
    if not validator.is_type(instance, "string"):
        return
    try:
        found = regex.search(pattern, instance, timeout=PATTERN_TIMEOUT)
    except TimeoutError:
        yield jsonschema.ValidationError(f"{instance[:80]!r} could not be checked against {pattern!r} in time")
        return
    except regex.error as e:
        yield jsonschema.ValidationError(f"{pattern!r} is not a regular expression: {e}")
        return
    if found is None:
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


def checker(schema: dict, *, param: str | None = None) -> Callable[[Any], list[str]]:
    """A function listing the problems of a value against `schema` (empty when it fits); an invalid
    schema is an InvalidInput naming `param`."""
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    try:
        cls.check_schema(schema)
    except jsonschema.SchemaError as e:
        raise InvalidInput(f"not a valid JSON schema: {e.message}", param=param) from None
    validator = jsonschema.validators.extend(cls, {"pattern": _bounded_pattern})(schema)

    def problems(value: Any) -> list[str]:
        out = []
        for err in sorted(validator.iter_errors(value), key=lambda e: list(map(str, e.path))):
            path = [str(x) for x in err.path]
            if err.validator == "required":
                missing = err.message.split("'")[1] if "'" in err.message else err.message
                out.append(f"{'.'.join([*path, missing])}: Field required")
            elif err.validator == "additionalProperties" and isinstance(err.instance, dict):
                extra = [k for k in err.instance if k not in err.schema.get("properties", {})]
                out.extend(f"{'.'.join([*path, k])}: Extra inputs are not permitted" for k in extra)
            else:
                out.append(f"{'.'.join(path) or 'value'}: {err.message}")
        return out

    return problems
