"""A small PromQL reader for the dashboard tests: which metrics an expression reads, and how.

Not a parser of the whole language: a tokenizer and a stack of open calls,
enough to tell the metric names of an expression (label names inside `{...}`,
`by (...)` and the like are not metric names), the function or aggregation
each one is read by, and the labels each aggregation keeps. Anything it does
not recognise (a Grafana variable outside a range, a typo'd function) is an
error, so a dashboard cannot slip an expression past it.
"""

import itertools
import re
from dataclasses import dataclass, field

TOKEN = re.compile(
    r"""
    (?P<string>"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|`[^`]*`)
    |(?P<range>\[[^\]]*\])
    |(?P<number>\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|\.\d+)
    |(?P<name>[A-Za-z_:][A-Za-z0-9_:]*)
    |(?P<punct>=~|!~|!=|==|<=|>=|[-+*/%^<>=,(){}])
    |(?P<space>\s+)
    """,
    re.VERBOSE,
)
AGGREGATIONS = {
    "sum", "min", "max", "avg", "count", "stddev", "stdvar", "group",
    "topk", "bottomk", "quantile", "count_values", "limitk", "limit_ratio",
}  # fmt: skip
FUNCTIONS = {
    "rate", "irate", "increase", "delta", "idelta", "deriv", "histogram_quantile",
    "abs", "ceil", "floor", "round", "clamp", "clamp_min", "clamp_max", "scalar",
    "vector", "time", "timestamp", "absent", "absent_over_time", "changes", "resets",
    "label_replace", "label_join", "sort", "sort_desc", "sqrt", "ln", "log2", "log10",
    "exp", "predict_linear", "avg_over_time", "min_over_time", "max_over_time",
    "sum_over_time", "count_over_time", "last_over_time", "quantile_over_time",
}  # fmt: skip
GROUPING = {"by", "without", "on", "ignoring", "group_left", "group_right"}
KEYWORDS = {"and", "or", "unless", "bool", "offset"}
MATCHERS = {"=", "!=", "=~", "!~"}


@dataclass
class Reading:
    """What one expression reads: (metric, the call it is the direct argument of)."""

    metrics: list = field(default_factory=list)  # [(name, function or None)]
    groupings: list = field(default_factory=list)  # [(aggregation, [labels kept])]
    functions: set = field(default_factory=set)
    matched: set = field(default_factory=set)  # label names in {...} selectors

    @property
    def names(self):
        return {name for name, _ in self.metrics}

    @property
    def labels(self):
        """Every label name the expression selects on or keeps."""
        return self.matched | {label for _, kept in self.groupings for label in kept}


def tokens(expr):
    """[(kind, text)] without spaces; ValueError on anything PromQL has not."""
    found, position = [], 0
    while position < len(expr):
        match = TOKEN.match(expr, position)
        if not match:
            raise ValueError(f"cannot read {expr[position:]!r} in {expr!r}")
        if match.lastgroup != "space":
            found.append((match.lastgroup, match.group()))
        position = match.end()
    return found


def read(expr):
    """The metrics, calls and groupings of `expr`."""
    reading, calls, pending, closed = Reading(), [], None, None
    stream = tokens(expr)
    index = 0
    while index < len(stream):
        kind, text = stream[index]
        following = stream[index + 1][1] if index + 1 < len(stream) else None
        if text == "{":
            end = _skip_to(stream, index, "}")
            selector = stream[index + 1 : end]
            reading.matched |= {
                name
                for (kind_, name), (_, operator) in itertools.pairwise(selector)
                if kind_ == "name" and operator in MATCHERS
            }
            index = end
        elif kind == "name" and text in GROUPING and following == "(":
            end = _skip_to(stream, index + 1, ")")
            labels = [t for k, t in stream[index + 2 : end] if k == "name"]
            if pending or closed:  # `sum by (a) (x)` or `sum(x) by (a)`
                reading.groupings.append((pending or closed, labels))
            index = end
        elif kind == "name" and text in AGGREGATIONS | FUNCTIONS:
            reading.functions.add(text)
            pending = text
        elif kind == "name" and text in KEYWORDS | GROUPING:
            pass
        elif kind == "name":
            if following == "(":
                raise ValueError(f"unknown function {text}() in {expr!r}")
            reading.metrics.append((text, calls[-1] if calls else None))
        elif text == "(":
            calls.append(pending)
            pending = None
        elif text == ")":
            closed = calls.pop()
            index += 1
            continue
        closed = None if text not in GROUPING else closed
        index += 1
    if calls:
        raise ValueError(f"unbalanced parentheses in {expr!r}")
    return reading


def _skip_to(stream, index, closing):
    while stream[index][1] != closing:
        index += 1
        if index == len(stream):
            raise ValueError(f"no {closing!r} after {stream}")
    return index
