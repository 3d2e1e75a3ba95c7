"""JSON schema checks shared by tool arguments and structured output: the schema itself is checked
once (with its own draft), and every problem of a value is listed by where it is
("date: Field required; divers: 0 is less than the minimum of 1")."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jsonschema

from .errors import InvalidInput


def checker(schema: dict, *, param: str | None = None) -> Callable[[Any], list[str]]:
    """A function listing the problems of a value against `schema` (empty when it fits); an invalid
    schema is an InvalidInput naming `param`."""
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    try:
        cls.check_schema(schema)
    except jsonschema.SchemaError as e:
        raise InvalidInput(f"not a valid JSON schema: {e.message}", param=param) from None
    validator = cls(schema)

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
