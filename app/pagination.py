"""Page parameters and metadata shared by the list endpoints."""

import math

import marshmallow as ma
from marshmallow import validate

PER_PAGE_DEFAULT = 20
PER_PAGE_MAX = 100  # REST's and GraphQL's largest page


class PageArgsSchema(ma.Schema):
    page = ma.fields.Integer(load_default=1, validate=validate.Range(min=1, max=100000))
    per_page = ma.fields.Integer(
        load_default=PER_PAGE_DEFAULT, validate=validate.Range(min=1, max=PER_PAGE_MAX)
    )


class PageMetaSchema(ma.Schema):
    page = ma.fields.Integer(required=True)
    perPage = ma.fields.Integer(required=True)
    total = ma.fields.Integer(required=True, metadata={"description": "Items matching the query"})
    totalPages = ma.fields.Integer(required=True)


def page_schema(item_schema: type[ma.Schema]) -> type[ma.Schema]:
    """The schema of one page of `item_schema` items: `{items, meta}`.

    Named after the item (`NotificationSchema` -> `NotificationPageSchema`), which
    names its component in the OpenAPI document.
    """
    name = item_schema.__name__.removesuffix("Schema") + "PageSchema"
    fields = {
        "items": ma.fields.List(ma.fields.Nested(item_schema), required=True),
        "meta": ma.fields.Nested(PageMetaSchema, required=True),
    }
    return type(name, (ma.Schema,), fields)


def page_of(queryset, *, page, per_page):
    """The items of one page of `queryset` and the metadata describing it."""
    total = queryset.count()
    items = list(queryset.skip((page - 1) * per_page).limit(per_page))
    meta = {
        "page": page,
        "perPage": per_page,
        "total": total,
        "totalPages": math.ceil(total / per_page),
    }
    return items, meta
