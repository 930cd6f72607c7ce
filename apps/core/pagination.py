"""Pagination that never counts: fetch one row more than the page to know if there is a next one.

`COUNT(*)` over a million filtered rows costs as much as the page itself; list pages show
"Newer / Older" instead of "page 3 of 40,000".
"""

from dataclasses import dataclass

from django.db.models import QuerySet

MAX_PAGE = 10_000


@dataclass
class Page:
    object_list: list
    number: int
    per_page: int
    has_next: bool

    def __iter__(self):
        return iter(self.object_list)

    def __len__(self) -> int:
        return len(self.object_list)

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_other_pages(self) -> bool:
        return self.has_next or self.has_previous

    @property
    def next_page_number(self) -> int:
        return self.number + 1

    @property
    def previous_page_number(self) -> int:
        return self.number - 1


def page_number(value) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return 1
    return min(max(number, 1), MAX_PAGE)


def paginate(queryset: QuerySet, page: str | int | None, per_page: int = 25) -> Page:
    number = page_number(page)
    offset = (number - 1) * per_page
    rows = list(queryset[offset : offset + per_page + 1])
    return Page(rows[:per_page], number, per_page, has_next=len(rows) > per_page)
