from dataclasses import dataclass, field, replace
from datetime import datetime

from django.apps import apps as django_apps
from django.db.models import Q, QuerySet

from .filters import CustomerFilter
from .models import Customer, CustomEvent


def customer_list(*, project, filters=None) -> tuple[QuerySet[Customer], CustomerFilter]:
    """Customers of the project, filtered by the list page's FilterSet (newest first).

    Returns the queryset and the bound FilterSet (its form renders the filter bar).
    """
    base = Customer.objects.filter(project=project).order_by("-created_at", "-id")
    filterset = CustomerFilter(filters or None, queryset=base, project=project)
    # Unbound (no filters): everything; bound but invalid (e.g. a bad date): nothing, the form
    # shows why.
    queryset = filterset.qs if not filterset.is_bound or filterset.is_valid() else base.none()
    return queryset, filterset


def customer_timeline(*, customer: Customer, limit: int = 50) -> list[dict]:
    """Orders and custom events of one customer, newest first (redemptions and publications join
    when those apps exist)."""
    entries = [
        {"kind": "event", "at": event.created_at, "object": event}
        for event in CustomEvent.objects.filter(customer=customer).order_by("-created_at")[:limit]
    ]
    entries += [
        {"kind": "order", "at": order.created_at, "object": order}
        # the reverse relation: customers never import the orders app above them
        for order in customer.orders.order_by("-created_at")[:limit]
    ]
    entries.sort(key=lambda entry: entry["at"], reverse=True)
    return entries[:limit]


# --- the API's activity feed ------------------------------------------------------------------


@dataclass(frozen=True)
class ActivitySource:
    """One table the feed reads: rows of `model` whose `customer` is the customer. `model` is
    "app_label.Model": the apps above customers are looked up by name, never imported."""

    kind: str
    model: str
    prefix: str  # of activity ids: the row's public id, or prefix + pk for rows without one
    public_id: bool
    related: tuple[str, ...] = ()
    campaign_path: str | None = None  # how the row reaches its campaign, if it has one
    extra: Q = field(default_factory=Q)

    def queryset(self, customer: Customer) -> QuerySet:
        model = django_apps.get_model(self.model)
        rows = model.objects.filter(customer=customer).filter(self.extra)
        return rows.select_related(*self.related) if self.related else rows

    def activity_id(self, row) -> str:
        return row.public_id if self.public_id else f"{self.prefix}{row.pk}"

    def find(self, customer: Customer, activity_id: str):
        """The row of this source behind `activity_id`, or None."""
        if not activity_id.startswith(self.prefix):
            return None
        rows = self.queryset(customer)
        if self.public_id:
            return rows.filter(public_id=activity_id).first()
        pk = activity_id.removeprefix(self.prefix)
        return rows.filter(pk=int(pk)).first() if pk.isdigit() else None


# Rank (position) breaks ties between rows of different tables created at the same instant.
ACTIVITY_SOURCES = (
    ActivitySource("custom_event", "customers.CustomEvent", "evcus_", public_id=True),
    ActivitySource("order_event", "orders.OrderEvent", "evord_", False, related=("order",)),
    ActivitySource(
        "redemption",
        "redemptions.Redemption",
        "r_",
        True,
        related=("voucher", "tier", "campaign"),
        campaign_path="campaign",
        # children only: a stacked redemption's parent is their envelope, not an activity
        extra=~Q(related_object_type="redemption"),
    ),
    ActivitySource(
        "rollback",
        "redemptions.RedemptionRollback",
        "rr_",
        True,
        related=("redemption",),
        campaign_path="redemption__campaign",
        extra=~Q(redemption__related_object_type="redemption"),
    ),
    ActivitySource(
        "publication",
        "campaigns.Publication",
        "pub_",
        True,
        related=("campaign",),
        campaign_path="campaign",
    ),
    ActivitySource("segment_event", "segments.SegmentEvent", "evseg_", False, ("segment",)),
)
# Voucherify's activity type -> (source kind, condition on its rows)
ACTIVITY_TYPES = {
    "customer.custom_event": ("custom_event", Q()),
    **{
        f"customer.order.{status}": ("order_event", Q(type=f"order.{status}"))
        for status in ("created", "updated", "paid", "canceled", "fulfilled", "processing")
    },
    "customer.redemption.succeeded": ("redemption", Q(result="SUCCESS")),
    "customer.redemption.failed": ("redemption", Q(result="FAILURE")),
    "customer.redemption.rollback.succeeded": ("rollback", Q(result="SUCCESS")),
    "customer.redemption.rollback.failed": ("rollback", Q(result="FAILURE")),
    "customer.publication.succeeded": ("publication", Q()),
    "customer.segment.entered": ("segment_event", Q(type="customer.segment.entered")),
    "customer.segment.left": ("segment_event", Q(type="customer.segment.left")),
}
EFFECT_KINDS = ("segment_event",)  # what happened to the customer, not what they did


@dataclass(frozen=True)
class Activity:
    id: str
    kind: str
    at: datetime
    rank: int
    row: object


class ActivityCursorError(ValueError):
    """`starting_after_id` names no activity of this customer."""


def customer_activities(
    *,
    customer: Customer,
    limit: int = 10,
    descending: bool = True,
    starting_after_id: str | None = None,
    start_date: datetime | None = None,
    end_date: datetime | None = None,
    campaign_id: str | None = None,
    campaign_type: str | None = None,
    category: str | None = None,
    type: str | None = None,
) -> tuple[list[Activity], bool]:
    """A page of the customer's activity feed (custom events, order events, redemptions,
    rollbacks, publications, segment entries and exits) by time; -> (activities, has_more).

    Each table gives at most `limit + 1` rows past the cursor, so a page costs one query per
    table however long the history."""
    sources = list(enumerate(ACTIVITY_SOURCES))
    if type is not None:
        kind, condition = ACTIVITY_TYPES.get(type, (None, Q()))
        sources = [(rank, replace(s, extra=s.extra & condition)) for rank, s in sources]
        sources = [(rank, s) for rank, s in sources if s.kind == kind]
    if category is not None:
        effect = category.upper() == "EFFECT"
        sources = [(rank, s) for rank, s in sources if (s.kind in EFFECT_KINDS) == effect]
    if campaign_id or campaign_type:
        sources = [(rank, s) for rank, s in sources if s.campaign_path]
    cursor = _activity_cursor(customer, starting_after_id) if starting_after_id else None
    found: list[Activity] = []
    for rank, source in sources:
        rows = source.queryset(customer)
        if start_date:
            rows = rows.filter(created_at__gte=start_date)
        if end_date:
            rows = rows.filter(created_at__lte=end_date)
        if campaign_id:
            rows = rows.filter(
                Q(**{f"{source.campaign_path}__public_id": campaign_id})
                | Q(**{f"{source.campaign_path}__name": campaign_id})
            )
        if campaign_type:
            rows = rows.filter(**{f"{source.campaign_path}__campaign_type": campaign_type})
        if cursor is not None:
            rows = rows.filter(_after(cursor, rank, descending))
        direction = "-" if descending else ""
        rows = rows.order_by(f"{direction}created_at", f"{direction}pk")[: limit + 1]
        found += [
            Activity(source.activity_id(row), source.kind, row.created_at, rank, row)
            for row in rows
        ]
    found.sort(key=lambda a: (a.at, a.rank, a.row.pk), reverse=descending)
    return found[:limit], len(found) > limit


def _activity_cursor(customer: Customer, activity_id: str) -> tuple[datetime, int, int]:
    for rank, source in enumerate(ACTIVITY_SOURCES):
        row = source.find(customer, activity_id)
        if row is not None:
            return row.created_at, rank, row.pk
    raise ActivityCursorError(activity_id)


def _after(cursor: tuple[datetime, int, int], rank: int, descending: bool) -> Q:
    """Rows of the source ranked `rank` that come after the cursor in (time, rank, pk) order."""
    at, cursor_rank, pk = cursor
    past, same = ("created_at__lt", "pk__lt") if descending else ("created_at__gt", "pk__gt")
    if rank == cursor_rank:
        return Q(**{past: at}) | Q(created_at=at, **{same: pk})
    if (rank < cursor_rank) == descending:
        return Q(**{past: at}) | Q(created_at=at)
    return Q(**{past: at})


def customer_segments(*, customer: Customer) -> list:
    """The segments the customer is a member of, by name (through the reverse relation: the
    segments app sits above customers)."""
    memberships = customer.segment_memberships.select_related("segment").order_by(
        "segment__name", "segment__pk"
    )
    return [membership.segment for membership in memberships]


def customer_api_list(
    *,
    project,
    email: str | None = None,
    city: str | None = None,
    name: str | None = None,
    segment_id: str | None = None,
    created_before: datetime | None = None,
    created_after: datetime | None = None,
    updated_before: datetime | None = None,
    updated_after: datetime | None = None,
    starting_after: datetime | None = None,
    descending: bool = True,
) -> QuerySet[Customer]:
    """The API's customer list filters (Voucherify's query parameters): exact email (stored in
    lower case), city and name ignoring case, a segment's members, created/updated ranges, and
    `starting_after`, a created_at cursor in the list's direction."""
    found = Customer.objects.filter(project=project)
    if email:
        found = found.filter(email=email.strip().lower())
    if city:
        found = found.filter(address_city__iexact=city.strip())
    if name:
        found = found.filter(name__iexact=name.strip())
    if segment_id:
        found = found.filter(segment_memberships__segment__public_id=segment_id)
    for lookup, moment in (
        ("created_at__lt", created_before),
        ("created_at__gt", created_after),
        ("updated_at__lt", updated_before),
        ("updated_at__gt", updated_after),
    ):
        if moment is not None:
            found = found.filter(**{lookup: moment})
    if starting_after is not None:
        cursor = "created_at__lt" if descending else "created_at__gt"
        found = found.filter(**{cursor: starting_after})
    return found
