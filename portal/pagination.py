"""Pagination whose count stops at a cap: counting every row reads every row (or its index
entry), so an unbounded count grows with the table (a million evidence items, ten million audit
events). Past the cap, a reader narrows the filters (or exports) to see further back."""

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.utils.functional import cached_property
from rest_framework.pagination import PageNumberPagination

COUNT_CAP = 10_000


def bounded_count(rows: QuerySet, cap: int = COUNT_CAP) -> int:
    """The number of rows, or cap + 1 when there are more than `cap`."""
    return rows[: cap + 1].count()


class BoundedPaginator(Paginator):
    """A Paginator that counts no further than the first whole page past COUNT_CAP (so no page
    is cut short); `more_than_cap` says the count stopped there."""

    cap = COUNT_CAP

    @cached_property
    def count(self) -> int:
        limit = -(-(self.cap + 1) // self.per_page) * self.per_page
        rows = self.object_list
        if isinstance(rows, QuerySet):
            return bounded_count(rows, limit - 1)
        return min(len(rows), limit)

    @property
    def more_than_cap(self) -> bool:
        return self.count > self.cap


class BoundedPageNumberPagination(PageNumberPagination):
    """The APIs' pages: `count` is the number of rows up to COUNT_CAP; above COUNT_CAP it is
    where the count stopped, not the total (follow `next` to the end, or narrow the filters)."""

    django_paginator_class = BoundedPaginator
