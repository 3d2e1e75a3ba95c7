"""Templates that callers write, rendered with bounded work.

Jinja's sandbox keeps a template away from Python's internals, not from work without end: a loop
inside a loop over `range(100000)`, `'a' * 10**9`, `'x'|center(10**9)`, `2 ** 10**9` or a prompt
that includes itself would hold a server thread or its memory for good. Here a render has a budget
of template steps (`MAX_STEPS` lines of the compiled template), what an operator, a filter or a
method call builds is held to `MAX_SIZE` characters or items, and a render that recurses without
end stops. Each of these ends the render with `TemplateTooCostly`, a `jinja2.TemplateError`, which
callers already turn into a clear error.
"""

from __future__ import annotations

import functools
import math
import re
import sys
from collections.abc import Callable
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

MAX_STEPS = 1_000_000  # lines of the compiled template a render may run
MAX_SIZE = 1_000_000  # characters or items an operator, a filter or a call may build
MAX_BITS = 1 << 16  # bits of an integer a power may make
_WIDE = re.compile(r"\d{7,}")  # a width or precision of a million or more in a format string


class TemplateTooCostly(jinja2.TemplateError):
    pass


_PASSED = (jinja2.runtime.Context, jinja2.Environment, jinja2.nodes.EvalContext)  # what Jinja passes a filter first


def _too_big(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_SIZE


def _check_arguments(args: tuple, kwargs: dict, what: str) -> None:
    if any(_too_big(a) for a in args) or any(_too_big(v) for v in kwargs.values()):
        raise TemplateTooCostly(f"{what}: a number above {MAX_SIZE:,} would make too large a result")


def _bounded_filter(name: str, f: Callable) -> Callable:
    @functools.wraps(f)  # keeps Jinja's markers (pass_context, pass_environment …)
    def bounded(*args: Any, **kwargs: Any) -> Any:
        # the value filtered may be anything; the arguments after it are widths, counts, lengths
        skip = 1 + sum(1 for a in args[:2] if isinstance(a, _PASSED))
        _check_arguments(args[skip:], kwargs, f"the filter {name}")
        return f(*args, **kwargs)

    return bounded


class BoundedEnvironment(SandboxedEnvironment):
    """A sandboxed environment whose operators, filters and calls build nothing too large."""

    intercepted_binops = frozenset({"*", "**", "%"})

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.filters = {name: _bounded_filter(name, f) for name, f in self.filters.items()}

    def call_binop(self, context: jinja2.runtime.Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for seq, n in ((left, right), (right, left)):
                if isinstance(seq, str | list | tuple) and isinstance(n, int) and len(seq) * n > MAX_SIZE:
                    raise TemplateTooCostly(f"a repetition would make more than {MAX_SIZE:,} characters or items")
        elif operator == "**":
            if isinstance(left, int) and isinstance(right, int) and abs(left) > 1 and right > 0:
                if right * math.log2(abs(left)) > MAX_BITS:
                    raise TemplateTooCostly(f"a power would make a number of more than {MAX_BITS:,} bits")
        elif operator == "%" and isinstance(left, str):
            values = right if isinstance(right, tuple) else (right,)
            if _WIDE.search(left) or any(_too_big(v) for v in values):
                raise TemplateTooCostly(f"a formatting would make more than {MAX_SIZE:,} characters")
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: jinja2.runtime.Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        _check_arguments(args, kwargs, f"a call of {getattr(__obj, '__name__', 'a function')}")
        return super().call(__context, __obj, *args, **kwargs)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """str.format and format_map, as the sandbox wraps them, with no width of a million."""
        wrapped = super().wrap_str_format(value)
        if wrapped is not None and _WIDE.search(value.__self__):
            raise TemplateTooCostly(f"a formatting would make more than {MAX_SIZE:,} characters")
        return wrapped


def render(template: jinja2.Template, values: dict[str, Any], steps: int = MAX_STEPS) -> str:
    """The template rendered with at most `steps` lines of its compiled code run."""
    left = steps

    def line(frame: Any, event: str, arg: Any) -> Any:
        nonlocal left
        if event == "line":
            left -= 1
            if left < 0:
                raise TemplateTooCostly(f"the template ran more than {steps:,} steps (a loop too long?)")
        return line

    def calls(frame: Any, event: str, arg: Any) -> Any:
        # only the template's own code is counted; Jinja's runtime and Python's run untraced
        return line if frame.f_code.co_filename == "<template>" else None

    before = sys.gettrace()
    sys.settrace(calls)
    try:
        return template.render(**values)
    except RecursionError:
        raise TemplateTooCostly("the template recurses without end (does it include itself?)") from None
    finally:
        sys.settrace(before)
