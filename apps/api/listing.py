"""List endpoints: Voucherify's paging parameters checked, and its list envelope.

`limit` is 1 to 100 (default 10), `page` 1 to 1000 (default 1); a bad value is a 400
`invalid_query_params`, never a silent clamp. The envelope is `{object: "list", data_ref,
<data_ref>: [...], total}`.
"""

from collections.abc import Callable, Iterable

from django.db.models import QuerySet

from apps.core.errors import ApplicationError

MAX_PAGE = 1000


def invalid_query(message: str) -> ApplicationError:
    return ApplicationError(message, key="invalid_query_params")


def check_paging(limit: int, page: int) -> None:
    if not 1 <= limit <= 100:
        raise invalid_query("limit must be from 1 to 100.")
    if not 1 <= page <= MAX_PAGE:
        raise invalid_query(f"page must be from 1 to {MAX_PAGE}.")


def ordering(order: str | None, allowed: dict[str, str], default: str) -> str:
    """The ORM ordering for the API's `order` parameter (e.g. `-created_at`), one of `allowed`
    (API name -> model field); both directions of each name are accepted."""
    order = order or default
    name = order.removeprefix("-")
    if name not in allowed:
        names = ", ".join(sorted(allowed))
        raise invalid_query(f"order must be one of {names} (prefix - for descending).")
    return ("-" if order.startswith("-") else "") + allowed[name]


def envelope(data_ref: str, items: Iterable[dict], total: int, **extra) -> dict:
    return {"object": "list", "data_ref": data_ref, data_ref: list(items), "total": total, **extra}


def page_of(
    queryset: QuerySet,
    *,
    data_ref: str,
    shape: Callable,
    limit: int = 10,
    page: int = 1,
    order_by: str | tuple[str, ...] | None = None,
) -> dict:
    """One page of `queryset`, each row through `shape`, in the list envelope. The total is a
    count of the filtered queryset (the tables behind list endpoints carry the project index)."""
    check_paging(limit, page)
    if order_by:
        order_by = (order_by,) if isinstance(order_by, str) else order_by
        queryset = queryset.order_by(*order_by, "-pk" if order_by[0].startswith("-") else "pk")
    rows = list(queryset[(page - 1) * limit : page * limit])
    total = len(rows) if page == 1 and len(rows) < limit else queryset.count()
    return envelope(data_ref, (shape(row) for row in rows), total)
