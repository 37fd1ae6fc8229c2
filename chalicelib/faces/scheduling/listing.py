"""List query parameters of the scheduling face: `filter`, `sort`, `limit`, `page`, and `links`.

A list sorted by a key some index keeps in order (`updatedAt` for tasks) is paged by key: rows
come from the index in order, access and the filter drop what the caller may not see, and
reading stops once the page is full; `page` holds the position of the page's last (or, going
back, first) row. That is the default sort, so the usual list costs a page's worth of reads,
and walking all pages reads each task once. Any other sort reads the caller's whole list,
filters and sorts it in memory and cuts pages by offset.

`page` is an encrypted cursor (`chalicelib.cursor`), bound to the tenant, the caller, the list, the
sort and the filter: it cannot be forged, nor reused on another list or query. Paging by key
has the usual consequence: a task changed while a client walks the pages moves in the order,
so it can appear twice or not at all in that walk.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from chalicelib import settings
from chalicelib.cursor import CursorCodec
from chalicelib.errors import ValidationError
from chalicelib.faces.http import Call, request_headers
from chalicelib.faces.scheduling.scim import FieldType, Filter, parse_filter


@dataclass(frozen=True, kw_only=True)
class ListQuery:
    """A list request's parsed parameters."""

    #: The parsed SCIM filter, if one was given.
    filter: Filter | None
    #: The sort value as given (`-updatedAt`).
    sort: str
    #: The field the sort names.
    sort_field: str
    descending: bool
    limit: int
    #: Index of the first item of the page (lists cut by offset).
    offset: int
    #: Index position the page starts behind (lists paged by key), and whether it goes back.
    anchor: dict[str, str] | None = None
    backward: bool = False
    #: What the cursor is bound to (list, caller, sort, filter).
    scope: str


def _codec() -> CursorCodec:
    return CursorCodec(settings.current().cursor_secret or settings.current().jwt_secret)


def parse_list_query(
    call: Call,
    *,
    list_name: str,
    sort_fields: Sequence[str],
    default_sort: str,
    filter_fields: Mapping[str, FieldType] | None = None,
) -> ListQuery:
    """Read `filter`, `sort`, `limit` and `page`; a bad value is a `ValidationError` naming it."""
    query = call.params
    text = getattr(query, "filter", None)  # run lists take none
    parsed = parse_filter(text, filter_fields) if filter_fields is not None and text else None
    sort = query.sort or default_sort
    allowed = {f"{sign}{name}" for name in sort_fields for sign in "+-"}
    if sort not in allowed:
        raise ValidationError(
            "sort must be one of " + ", ".join(f"{sign}{name}" for name in sort_fields for sign in "+-"),
            location="query.sort", value=sort,
        )
    limit = query.limit
    scope = f"scheduling|{list_name}|{call.principal.user_id}|{sort}|{text or ''}"
    offset, anchor, backward = 0, None, False
    if query.page:
        position = _codec().decode(query.page, tenant=call.principal.tenant, scope=scope)
        if _valid_offset(position):
            offset = position["o"]
        elif _valid_anchor(position):
            anchor, backward = position["k"], position["d"] == "p"
        else:
            raise ValidationError("cursor is not valid", location="query.page")
    return ListQuery(filter=parsed, sort=sort, sort_field=sort[1:], descending=sort[0] == "-", limit=limit,
                     offset=offset, anchor=anchor, backward=backward, scope=scope)


def _valid_offset(position: Any) -> bool:
    return isinstance(position, dict) and isinstance(position.get("o"), int) and position["o"] >= 0


def _valid_anchor(position: Any) -> bool:
    if not isinstance(position, dict) or position.get("d") not in ("n", "p"):
        return False
    key = position.get("k")
    return isinstance(key, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in key.items())


def _sort_key(value: Any) -> Any:
    return value.casefold() if isinstance(value, str) else value


def order(
    items: list[Any], field_of: Callable[[Any], Any], *, descending: bool, tie: Callable[[Any], Any]
) -> list[Any]:
    """Sort by a field (strings fold case); items without a value come last either way; ties
    are broken by `tie` so pages are stable."""
    present = [item for item in items if field_of(item) is not None]
    absent = [item for item in items if field_of(item) is None]
    present.sort(key=tie)
    present.sort(key=lambda item: _sort_key(field_of(item)), reverse=descending)
    absent.sort(key=tie)
    return present + absent


@dataclass(frozen=True, kw_only=True)
class Page:
    """One page of a list and the links around it."""

    items: list[Any]
    links: dict[str, dict[str, str]]


def paginate(call: Call, query: ListQuery, items: list[Any]) -> Page:
    """Cut the page out of the sorted list and build `links.self/next/prev.href`."""
    start = min(query.offset, len(items))
    end = start + query.limit
    links = {"self": {"href": _href(call, query, query.offset if query.offset else None)}}
    if end < len(items):
        links["next"] = {"href": _href(call, query, end)}
    if start > 0:
        links["prev"] = {"href": _href(call, query, max(0, start - query.limit))}
    return Page(items=items[start:end], links=links)


#: Rows of a list paged by key: `rows(descending, after)` yields (row, index position) in order.
Rows = Callable[[bool, "dict[str, str] | None"], Iterator[tuple[Any, dict[str, str]]]]


def keyset_paginate(call: Call, query: ListQuery, rows: Rows, accept: Callable[[Any], Any]) -> Page:
    """One page of a list paged by key. `accept(row)` gives the page item for a row the caller
    sees and the filter matches, None otherwise; reading stops at the first row past the page."""
    backward = query.backward
    taken: list[tuple[Any, dict[str, str]]] = []
    for row, position in rows(query.descending != backward, query.anchor):
        item = accept(row)
        if item is not None:
            taken.append((item, position))
            if len(taken) > query.limit:
                break
    more = len(taken) > query.limit
    taken = taken[: query.limit]
    if backward:
        taken.reverse()
    links = {"self": {"href": _href(call, query, _current(call))}}
    if taken and (more if not backward else True):
        links["next"] = {"href": _href(call, query, {"k": taken[-1][1], "d": "n"})}
    if taken and (more if backward else query.anchor is not None):
        links["prev"] = {"href": _href(call, query, {"k": taken[0][1], "d": "p"})}
    return Page(items=[item for item, _ in taken], links=links)


def _current(call: Call) -> str | None:
    return call.query.get("page") or None


def _href(call: Call, query: ListQuery, cursor: int | dict | str | None) -> str:
    params = {key: value for key, value in call.query.items() if key != "page"}
    if isinstance(cursor, str):
        params["page"] = cursor
    elif cursor is not None:
        payload = {"o": cursor} if isinstance(cursor, int) else cursor
        params["page"] = _codec().encode(payload, tenant=call.principal.tenant, scope=query.scope)
    return request_url(call, params)


def request_url(call: Call, params: Mapping[str, str]) -> str:
    """The URL of this request with other query parameters: absolute when the Host is known."""
    request = call.request
    context = request.context or {}
    path = context.get("path") or context.get("resourcePath") or ""
    for name, value in (request.uri_params or {}).items():
        path = path.replace("{" + name + "}", value)
    headers = request_headers(request)
    host = headers.get("host")
    local = bool(host and host.split(":")[0] in ("localhost", "127.0.0.1"))
    proto = headers.get("x-forwarded-proto") or ("http" if local else "https")
    base = f"{proto}://{host}{path}" if host else path
    return f"{base}?{urlencode(params)}" if params else base
