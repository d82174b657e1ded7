"""Filters on the web, all made from the declarations (search.filters.declared): read from a
request in one place, documented as /api/search's parameters, written back into addresses, and
shown as the search page's filter panel."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlencode

from fastapi import Request

from shashin.search.filters import FILTERS, from_params, to_params
from shashin.search.filters.declared import FilterValueError
from shashin.web.state import ApiError

_TYPES = {str: "string", int: "integer", float: "number", bool: "boolean"}


def read_filters(pairs: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """build_filters' arguments from a request's parameters (?camera=a&camera=b, a form, a saved
    search's address, a JSON body); a value that does not fit is a 400 naming it."""
    try:
        return from_params(pairs)
    except FilterValueError as exc:
        raise ApiError(400, str(exc)) from None


async def request_filters(request: Request) -> dict[str, Any]:
    """The filters of a request's query string (async: no thread-pool hop, it only reads the URL)."""
    return read_filters(request.query_params.multi_items())


def openapi_parameters() -> list[dict[str, Any]]:
    """The declared filters as OpenAPI query parameters, for /docs and clients."""
    parameters = []
    for declared in FILTERS:
        schema: dict[str, Any] = {"type": _TYPES[declared.kind]}
        if declared.choices:
            schema["enum"] = [value for value, _ in declared.choices]
        if declared.many:
            schema = {"type": "array", "items": schema}
        parameters.append(
            {
                "name": declared.param,
                "in": "query",
                "required": False,
                "description": declared.help,
                "schema": schema,
                **({"explode": True, "style": "form"} if declared.many else {}),
            }
        )
    return parameters


def search_address(saved: dict[str, Any]) -> str:
    """The search page's address for a saved search (to_dict() form): a live query, not a list."""
    pairs: list[tuple[str, Any]] = [("q", saved["query"]), *to_params(saved["filters"])]
    if saved.get("sort") and saved["sort"] != "relevance":
        pairs.append(("sort", saved["sort"]))
    return "/?" + urlencode(pairs)


def panel(request: Request, language: str) -> list[dict[str, Any]]:
    """The search page's filter panel: each declared filter with its label and the values given
    (a repeated one shows each, and one more field to add another)."""
    fields = []
    for declared in FILTERS:
        given = [value for value in request.query_params.getlist(declared.param) if value]
        fields.append(
            {
                "param": declared.param,
                "label": declared.label[1 if language == "ja" else 0],
                "kind": "check" if declared.kind is bool else "choice" if declared.choices else "text",
                "choices": declared.choices,
                "values": given if declared.many else given[-1:],
                "placeholder": declared.placeholder,
                "many": declared.many,
            }
        )
    return fields
