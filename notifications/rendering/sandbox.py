"""The jinja2 sandbox that admin-edited notification templates run in.

Over 400 lines on purpose: its limits are one security boundary, reviewed
and tested as one module.

An edited template is untrusted text: it must not reach Python internals, and
it must not be able to spend unbounded memory or time, whatever it does. The
sandbox below bounds both:

- no escape: jinja2's sandbox refuses `_`-attributes and Python internals; on
  top of it only an allow-list of harmless methods (`upper`, `split`, `get`…)
  may be called, `str.format` is refused outright, and values are immutable;
- no construct that can multiply work: macros, blocks, includes, imports,
  recursive loops, buffered `{% set %}`/`{% filter %}` blocks, and `for`
  loops nested deeper than `MAX_LOOP_DEPTH` are refused when parsing;
- every loop runs at most `MAX_LOOP_ITEMS` times (`range()` included);
- every value a template builds (`~`, `+`, `*`, list literals, filters,
  method calls) holds at most `MAX_VALUE_SIZE` characters/items, checked
  before the large operations (`'x' * 10**9`) and right after the others;
- numbers stay below `2**MAX_INT_BITS` (`10**10**10` is refused);
- a render spends at most `WORK_BUDGET` units (one per operation plus the
  size of what it builds), and its output is read as a stream and abandoned
  once it runs far past the format's cap.

Every problem surfaces as `TemplateProblem`, whose text is one human line.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from contextvars import ContextVar
from typing import Any, cast

from jinja2 import StrictUndefined, Template, TemplateError, TemplateSyntaxError, nodes
from jinja2.filters import FILTERS
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError
from jinja2.visitor import NodeTransformer

MAX_SOURCE_CHARS = 10_000
MAX_LOOP_DEPTH = 2
MAX_LOOP_ITEMS = 100
MAX_VALUE_SIZE = 20_000
MAX_INT_BITS = 256
WORK_BUDGET = 250_000
COMPILED_CACHE_SIZE = 256

# Methods a template may call on the strings, dicts and loop objects of its
# context: each returns something no larger than its input.
SAFE_METHODS = frozenset(
    {
        # str
        "capitalize", "casefold", "count", "endswith", "find", "isalnum",
        "isalpha", "isdigit", "islower", "isspace", "isupper", "lower",
        "lstrip", "partition", "removeprefix", "removesuffix", "rfind",
        "rpartition", "rsplit", "rstrip", "split", "splitlines", "startswith",
        "strip", "swapcase", "title", "upper",
        # dict, list, tuple
        "get", "index", "items", "keys", "values",
        # the `loop` object
        "changed", "cycle",
    }
)  # fmt: skip

# jinja2's own filters whose work and output are linear in their input.
# Left out on purpose: center, format, wordwrap, batch, slice (a width or
# count argument multiplies the output), sum (quadratic on lists), striptags
# and urlize (regexes that backtrack), and the HTML ones (these are not HTML).
SAFE_FILTERS = (
    "abs", "capitalize", "count", "d", "default", "dictsort", "first",
    "float", "groupby", "int", "items", "last", "length", "list", "lower",
    "map", "max", "min", "reject", "rejectattr", "reverse", "round", "select",
    "selectattr", "sort", "string", "title", "tojson", "trim", "truncate",
    "unique", "upper", "urlencode", "wordcount",
)  # fmt: skip

# Constructs refused at parse time, with the words the admin wrote them in.
FORBIDDEN_TAGS: dict[type[nodes.Node], str] = {
    nodes.Macro: "{% macro %}",
    nodes.CallBlock: "{% call %}",
    nodes.Block: "{% block %}",
    nodes.Extends: "{% extends %}",
    nodes.Include: "{% include %}",
    nodes.Import: "{% import %}",
    nodes.FromImport: "{% from … import %}",
    nodes.AssignBlock: "{% set %}…{% endset %}",
    nodes.FilterBlock: "{% filter %}",
}

# Private filters the parse-time rewrite inserts around loops, `~` and
# literals; a template naming them gets the same bounded behaviour.
_LOOP_FILTER = "_vigil_loop"
_CONCAT_FILTER = "_vigil_concat"
_SIZED_FILTER = "_vigil_sized"

_budget: ContextVar[list[int] | None] = ContextVar("vigil_render_budget", default=None)


class TemplateProblem(Exception):
    """An edited template cannot be used; `str()` says why, in one line."""


class TemplateLimitError(SecurityError):
    """A template tried to do more work than the sandbox allows."""


def _charge(units: int) -> None:
    """Spend `units` of the current render's work budget, or refuse."""
    remaining = _budget.get()
    if remaining is None:  # not inside `render()`: nothing to account to
        return
    remaining[0] -= units
    if remaining[0] < 0:
        raise TemplateLimitError("the template does too much work")


def _size(value: Any, limit: int = MAX_VALUE_SIZE) -> int:
    """Return how big `value` is (characters and items), stopping past `limit`.

    Nested containers count in full: `[a, a, a]` is three times `a` once
    printed, however little memory the shared references take.
    """
    if isinstance(value, str):
        return len(value)
    if isinstance(value, Mapping):
        value = [*value.keys(), *value.values()]
    if not isinstance(value, list | tuple | set | frozenset):
        return 1
    total = len(value)
    for item in value:
        if total > limit:
            break
        total += _size(item, limit - total)
    return total


def _bounded(value: Any) -> Any:
    """Return `value` once its size is within the caps, charging for it."""
    size = _size(value)
    _charge(1 + size)
    if size > MAX_VALUE_SIZE:
        raise TemplateLimitError(
            f"a value grew past {MAX_VALUE_SIZE:,} characters or items"
        )
    return value


def _check_product(left: Any, right: Any) -> None:
    """Refuse a `*` whose result would be too large, before computing it."""
    for sequence, times in ((left, right), (right, left)):
        if (
            isinstance(sequence, str | list | tuple)
            and isinstance(times, int)
            and _size(sequence) * times > MAX_VALUE_SIZE
        ):
            raise TemplateLimitError(
                f"repeating a value would pass {MAX_VALUE_SIZE:,} characters"
            )
    if (
        isinstance(left, int)
        and isinstance(right, int)
        and left.bit_length() + right.bit_length() > MAX_INT_BITS
    ):
        raise TemplateLimitError("the number is too large")


def _check_power(left: Any, right: Any) -> None:
    """Refuse an integer `**` whose result would be too large."""
    if (
        isinstance(left, int)
        and isinstance(right, int)
        and right > 0
        and left.bit_length() * right > MAX_INT_BITS
    ):
        raise TemplateLimitError("the number is too large")


def _bounded_range(*args: int) -> range:
    """Return `range(*args)` if it has at most `MAX_LOOP_ITEMS` numbers."""
    numbers = range(*args)
    try:
        too_long = len(numbers) > MAX_LOOP_ITEMS
    except OverflowError:
        too_long = True
    if too_long:
        raise TemplateLimitError(f"range() may hold at most {MAX_LOOP_ITEMS} numbers")
    return numbers


def _loop_items(value: Iterable[Any]) -> Iterator[Any]:
    """Yield the items of a `for` loop, refusing more than `MAX_LOOP_ITEMS`."""
    for count, item in enumerate(value, start=1):
        if count > MAX_LOOP_ITEMS:
            raise TemplateLimitError(f"a loop may run at most {MAX_LOOP_ITEMS} times")
        _charge(1)
        yield item


def _join(value: Iterable[Any], d: str = "") -> str:
    """Join items like jinja2's `join`, stopping once past `MAX_VALUE_SIZE`."""
    separator = str(d)
    pieces: list[str] = []
    total = 0
    for item in value:
        piece = str(item)
        total += len(piece) + (len(separator) if pieces else 0)
        if total > MAX_VALUE_SIZE:
            raise TemplateLimitError(
                f"joining text would pass {MAX_VALUE_SIZE:,} characters"
            )
        pieces.append(piece)
    return separator.join(pieces)


def _concat(parts: list[Any]) -> str:
    """Join the operands of `~` (`a ~ b ~ …` is one list of them)."""
    return str(_bounded(_join(parts)))


def _replace(value: Any, old: str, new: str, count: int | None = None) -> str:
    """Replace like jinja2's `replace`, refusing a result that would be too big."""
    text, old, new = str(value), str(old), str(new)
    hits = text.count(old) if old else len(text) + 1
    if count is not None and count >= 0:  # a negative count replaces all
        hits = min(hits, count)
    if len(text) + hits * (len(new) - len(old)) > MAX_VALUE_SIZE:
        raise TemplateLimitError(f"replace would pass {MAX_VALUE_SIZE:,} characters")
    return text.replace(old, new, -1 if count is None else count)


def _indent(
    value: Any, width: int | str = 4, first: bool = False, blank: bool = False
) -> str:
    """Indent like jinja2's `indent`, refusing a result that would be too big."""
    text = str(value)
    prefix = width if isinstance(width, int) else len(str(width))
    if len(text) + (text.count("\n") + 1) * prefix > MAX_VALUE_SIZE:
        raise TemplateLimitError(f"indent would pass {MAX_VALUE_SIZE:,} characters")
    indent: Callable[..., str] = FILTERS["indent"]
    return indent(text, width, first, blank)


def _sized_filter(function: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a filter so that what it returns is charged and size-checked."""

    # `wraps` copies `jinja_pass_arg`, so jinja2 still hands the filter the
    # environment or context it asks for.
    @functools.wraps(function)
    def filtered(*args: Any, **kwargs: Any) -> Any:
        return _bounded(function(*args, **kwargs))

    return filtered


def _filter(node: nodes.Node, name: str) -> nodes.Filter:
    """Return `node` piped through the filter `name` (an AST node)."""
    return nodes.Filter(node, name, [], [], None, None, lineno=node.lineno)


class _BoundingTransformer(NodeTransformer):
    """Route loops, `~` and literals through the bounding filters."""

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        node.iter = _filter(node.iter, _LOOP_FILTER)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        return _filter(nodes.List(node.nodes, lineno=node.lineno), _CONCAT_FILTER)

    def visit_List(self, node: nodes.List) -> nodes.Node:
        self.generic_visit(node)
        return _filter(node, _SIZED_FILTER)

    def visit_Dict(self, node: nodes.Dict) -> nodes.Node:
        self.generic_visit(node)
        return _filter(node, _SIZED_FILTER)

    def visit_Tuple(self, node: nodes.Tuple) -> nodes.Node:
        self.generic_visit(node)
        # A tuple being assigned to (`for key, value in …`) is not a value.
        return _filter(node, _SIZED_FILTER) if node.ctx == "load" else node


class VigilSandbox(ImmutableSandboxedEnvironment):
    """jinja2's immutable sandbox, with the allow-lists and caps above."""

    intercepted_binops = frozenset({"+", "*", "**", "%"})

    def __init__(self) -> None:
        super().__init__(
            undefined=StrictUndefined,  # a typo fails, and the built-in is used
            autoescape=False,  # text and Markdown, not HTML
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
            # Constant folding would run filters while compiling; with it
            # off, template code runs only inside `render()`, on a budget.
            optimized=False,
        )
        self.globals.clear()  # no lipsum, cycler, joiner, namespace, dict
        self.globals["range"] = _bounded_range
        self.filters = {name: _sized_filter(FILTERS[name]) for name in SAFE_FILTERS}
        self.filters.update(
            {
                "join": _sized_filter(_join),
                "replace": _sized_filter(_replace),
                "indent": _sized_filter(_indent),
                _LOOP_FILTER: _loop_items,
                _CONCAT_FILTER: _concat,
                _SIZED_FILTER: _bounded,
            }
        )

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        """Allow data attributes and the methods on `SAFE_METHODS` only."""
        if not super().is_safe_attribute(obj, attr, value):
            return False
        return not callable(value) or attr in SAFE_METHODS

    def wrap_str_format(self, value: Any) -> None:
        """Never hand out `str.format`, not even jinja2's sandboxed one.

        A width in the format string (`'{:>999999999}'`) allocates that much;
        `~` and the filters cover what notification templates need.
        """
        return None

    def getattr(self, obj: Any, attribute: str) -> Any:
        _charge(1)
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        _charge(1)
        return super().getitem(obj, argument)

    def call(self, context: Context, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        # Positional-only, so that a template's `f(context=…)` reaches `f`.
        return _bounded(super().call(context, obj, *args, **kwargs))

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            _check_product(left, right)
        elif operator == "**":
            _check_power(left, right)
        elif operator == "%" and isinstance(left, str):
            raise TemplateLimitError("%-formatting is not allowed; join text with ~")
        return _bounded(super().call_binop(context, operator, left, right))


ENVIRONMENT = VigilSandbox()


def _forbidden_construct(node: nodes.Node, depth: int = 0) -> str:
    """Return why the parsed template is refused, or "" when it is not."""
    for kind, tag in FORBIDDEN_TAGS.items():
        if isinstance(node, kind):
            return f"{tag} is not allowed in notification templates"
    if isinstance(node, nodes.For):
        if node.recursive:
            return "recursive loops are not allowed in notification templates"
        depth += 1
        if depth > MAX_LOOP_DEPTH:
            return f"loops may be nested at most {MAX_LOOP_DEPTH} deep"
    for child in node.iter_child_nodes():
        problem = _forbidden_construct(child, depth)
        if problem:
            return problem
    return ""


@functools.lru_cache(maxsize=COMPILED_CACHE_SIZE)
def _compile(source: str) -> Template | str:
    """Return the compiled template, or why it cannot be used.

    The reason is cached as text rather than raised, so that a broken template
    rendered for every page of a storm is parsed once, and so that no
    traceback (and the frames it holds) lives in the cache.
    """
    if len(source) > MAX_SOURCE_CHARS:
        return (
            f"the template has {len(source):,} characters;"
            f" at most {MAX_SOURCE_CHARS:,} are allowed"
        )
    try:
        tree = ENVIRONMENT.parse(source)
        problem = _forbidden_construct(tree)
        if problem:
            return problem
        tree = _BoundingTransformer().visit(tree)
        tree.set_environment(ENVIRONMENT)
        code = ENVIRONMENT.compile(tree)
        return ENVIRONMENT.template_class.from_code(
            ENVIRONMENT, code, ENVIRONMENT.make_globals(None)
        )
    except Exception as error:
        # Syntax errors, unknown filters, parentheses nested past Python's
        # recursion limit: all of them a reason, none of them a crash.
        return _describe(error)


def compile_template(source: str) -> Template:
    """Return `source` compiled in the sandbox, or raise `TemplateProblem`."""
    compiled = _compile(source)
    if isinstance(compiled, str):
        raise TemplateProblem(compiled)
    return compiled


def _describe(error: Exception) -> str:
    """Return one human line saying why a template failed."""
    if isinstance(error, RecursionError):
        return "the template nests too deeply"
    if isinstance(error, TemplateSyntaxError):
        message = f"line {error.lineno}: {error.message}"
    elif isinstance(error, TemplateError):
        message = str(error)
    else:
        message = f"{type(error).__name__}: {error}"
    # One line, without the final full stop: the caller's sentence goes on.
    return " ".join(message.split()).rstrip(":.")


def render(
    template: Template, context: Mapping[str, Any], *, abort_past: int | None
) -> str:
    """Render `template` with `context`, on a budget; raise `TemplateProblem`.

    The output is read as a stream and abandoned once it passes `abort_past`
    characters: a template writing that much is broken, and a loop must not
    fill memory before anyone notices. `None` is for the built-ins, whose
    output only grows with the context.
    """
    token = _budget.set([WORK_BUDGET])
    # `generate()` is a generator function, typed as a plain iterator;
    # closing it stops the template at once instead of at garbage collection.
    stream = cast(Generator[str, None, None], template.generate(context))
    pieces: list[str] = []
    total = 0
    try:
        for piece in stream:
            total += len(piece)
            if abort_past is not None and total > abort_past:
                raise TemplateProblem(f"the output ran past {abort_past:,} characters")
            pieces.append(piece)
    except TemplateProblem:
        raise
    except Exception as error:
        # Anything a template does wrong lands here (UndefinedError,
        # SecurityError, TypeError, ZeroDivisionError…): report, never raise.
        raise TemplateProblem(_describe(error)) from None
    finally:
        stream.close()
        _budget.reset(token)
    return "".join(pieces)
