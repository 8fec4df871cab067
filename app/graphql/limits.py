"""What one GraphQL document may ask: its depth, aliases, tokens and cost.

A hostile document (deep, wide, a thousand aliases, huge) is refused by
validation with a clear error before anything runs. Depth, aliases and tokens
are strawberry's own limiters; the cost is `CostLimit`: one per field, times the
page size of each list around it, so `first: 100` nested in `first: 100`
counts ten thousand. Lists are never longer than `MAX_PAGE_SIZE`, REST's.
"""

import functools

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    IntValueNode,
    ValidationRule,
    VariableNode,
    get_named_type,
)
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
)

from app.pagination import PER_PAGE_DEFAULT, PER_PAGE_MAX

MAX_PAGE_SIZE = PER_PAGE_MAX
PAGE_ARGUMENTS = ("first", "perPage", "limit")


def cost_limit(max_cost: int) -> type[ValidationRule]:
    """A validation rule refusing operations that cost more than `max_cost`."""

    class CostLimit(ValidationRule):
        def enter_operation_definition(self, node, *_args):
            schema = self.context.schema
            root = schema.get_root_type(node.operation)
            cost = self._cost(node.selection_set, root, visiting=frozenset())
            if cost > max_cost:
                self.report_error(
                    GraphQLError(
                        f"The operation costs {cost}, more than the limit of {max_cost}: "
                        "ask for fewer fields or smaller pages.",
                        node,
                    )
                )

        def _cost(self, selection_set, parent, *, visiting):
            total = 0
            for selection in selection_set.selections if selection_set else ():
                if isinstance(selection, FieldNode):
                    total += self._field_cost(selection, parent, visiting)
                elif isinstance(selection, InlineFragmentNode):
                    condition = selection.type_condition
                    kind = self.context.schema.get_type(condition.name.value) if condition else None
                    total += self._cost(selection.selection_set, kind or parent, visiting=visiting)
                elif isinstance(selection, FragmentSpreadNode):
                    name = selection.name.value
                    fragment = self.context.get_fragment(name)
                    if fragment is None or name in visiting:  # other rules report these
                        continue
                    kind = self.context.schema.get_type(fragment.type_condition.name.value)
                    total += self._cost(
                        fragment.selection_set, kind or parent, visiting=visiting | {name}
                    )
            return total

        def _field_cost(self, node, parent, visiting):
            fields = getattr(parent, "fields", None) or {}
            definition = fields.get(node.name.value)
            if definition is None or not node.selection_set:
                return 1
            child = get_named_type(definition.type)
            inner = self._cost(node.selection_set, child, visiting=visiting)
            return 1 + page_size(node, definition) * inner

    return CostLimit


def page_size(node: FieldNode, definition) -> int:
    """How many items a list field may return, from its page argument."""
    for name in PAGE_ARGUMENTS:
        if name not in definition.args:
            continue
        given = next((a.value for a in node.arguments or () if a.name.value == name), None)
        if isinstance(given, IntValueNode):
            return max(1, min(int(given.value), MAX_PAGE_SIZE))
        if isinstance(given, VariableNode):
            return MAX_PAGE_SIZE  # not known when validating: the most it can be
        default = definition.args[name].default_value
        return default if isinstance(default, int) else PER_PAGE_DEFAULT
    return 1


def validation_rules(config) -> list[type[ValidationRule]]:
    """The rules both transports add to GraphQL's own (WebSocket documents included)."""
    rules = [
        QueryDepthLimiter(max_depth=config["GRAPHQL_MAX_DEPTH"]).validation_rules[0],
        MaxAliasesLimiter(max_alias_count=config["GRAPHQL_MAX_ALIASES"]).validation_rules[0],
        cost_limit(config["GRAPHQL_MAX_COST"]),
    ]
    if not config["GRAPHQL_INTROSPECTION"]:
        rules.extend(DisableIntrospection().validation_rules)
    return rules


def extensions(config) -> list:
    """Factories of the schema extensions that enforce the limits over HTTP (one
    instance per operation, as strawberry wants)."""
    rules = validation_rules(config)
    return [
        functools.partial(MaxTokensLimiter, max_token_count=config["GRAPHQL_MAX_TOKENS"]),
        functools.partial(AddValidationRules, rules),
    ]
