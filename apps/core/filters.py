import datetime as dt
from zoneinfo import ZoneInfo

import django_filters
from django import forms
from django_filters.constants import EMPTY_VALUES


class DayBoundaryFilter(django_filters.DateFilter):
    """ "From day X" / "until day Y" in the project's time zone.

    Compares the timestamp itself (`>= start of X`, `< start of Y+1`), so an index on the column
    serves the range; `__date` lookups cannot use one. The FilterSet provides `zone`.
    """

    def __init__(self, *args, until: bool = False, **kwargs):
        self.until = until
        kwargs.setdefault("widget", forms.DateInput(attrs={"type": "date"}))
        super().__init__(*args, **kwargs)

    def filter(self, qs, value):
        if value in EMPTY_VALUES:
            return qs
        zone = getattr(self.parent, "zone", dt.UTC)
        day = value + dt.timedelta(days=1) if self.until else value
        boundary = dt.datetime.combine(day, dt.time.min, tzinfo=zone)
        return qs.filter(**{f"{self.field_name}__{'lt' if self.until else 'gte'}": boundary})


def project_zone(project) -> dt.tzinfo:
    return ZoneInfo(project.time_zone) if project is not None else dt.UTC
