"""Publications (reference §3.11): give a customer a code, by POST or by GET with the same
fields in the query; list them. Also a customer's redeemables: the codes the customer holds."""

import datetime as dt
import re

from django.db.models import Min, Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from ninja import Router

from apps.campaigns import services
from apps.campaigns.models import Publication, PublicationChannel, Voucher, VoucherType
from apps.core.errors import ApplicationError

from .. import lookups
from ..listing import check_paging, invalid_query, ordering, page_of
from ..payload import json_body
from ..shapes import publications as shapes
from ..shapes.campaigns import with_voucher_relations

router = Router(tags=["publications"])

PUBLICATION_ORDER = {
    "id": "pk",
    "created_at": "created_at",
    "channel": "channel",
    "customer_id": "customer__public_id",
    "tracking_id": "customer__source_id",
    "voucher_code": "first_code",
}
VOUCHER_TYPES = {
    "discount": VoucherType.DISCOUNT_VOUCHER,
    "gift": VoucherType.GIFT_VOUCHER,
    "loyalty": VoucherType.LOYALTY_CARD,
}
BRACKETS = re.compile(r"\[([^\[\]]*)\]")


def _invalid(message: str, field: str) -> ApplicationError:
    return ApplicationError(message, key="invalid_payload", details=field)


def _publish(request, body: dict, join_once: bool | None) -> dict:
    """Parse a publication request (body or query) and call the publication service."""
    customer = body.get("customer")
    if isinstance(customer, str):  # an id or a source_id
        customer = {"id": customer} if customer.startswith("cust_") else {"source_id": customer}
    if not isinstance(customer, dict) or not customer:
        raise ApplicationError(
            "A publication needs a customer: {id} or {source_id}.", key="invalid_customer"
        )
    campaign, count = body.get("campaign"), 1
    if isinstance(campaign, dict):
        campaign, count = campaign.get("name") or campaign.get("id"), campaign.get("count", 1)
    voucher = body.get("voucher")
    for name, value in (("campaign", campaign), ("voucher", voucher)):
        if value is not None and not isinstance(value, str):
            raise _invalid(f"{name} must name a {name}.", name)
    source_id, channel = body.get("source_id"), body.get("channel")
    if source_id is not None and not isinstance(source_id, str):
        raise _invalid("source_id must be text.", "source_id")
    if channel is not None and not isinstance(channel, str):
        raise _invalid("channel must be text.", "channel")
    metadata = body.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise _invalid("metadata must be an object.", "metadata")
    publication = services.publication_create(
        project=request.api.project,
        customer_payload=customer,
        voucher=voucher,
        campaign=campaign,
        count=count,
        source_id=source_id,
        channel=PublicationChannel.API,
        metadata=metadata,
        join_once=join_once,
    )
    return shapes.created(publication, request)


def _nested_query(request) -> dict:
    """The query string as nested objects: `customer[source_id]=ann` -> {customer: {source_id}}
    (how the SDK sends objects in a query; it writes their nulls as `None`, which is dropped)."""
    result: dict = {}
    for key in request.GET:
        if request.GET[key] == "None":  # the SDK writes a null in a query object as None
            continue
        head = key.split("[", 1)[0]
        path = [head, *BRACKETS.findall(key[len(head) :])]
        node = result
        for part in path[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise invalid_query(f"{key} mixes a value and an object.")
            node = child
        if isinstance(node.get(path[-1]), dict):
            raise invalid_query(f"{key} mixes a value and an object.")
        node[path[-1]] = request.GET[key]
    return result


@router.get("/publications/create", summary="Create Publication")
def publications_create_get(request, join_once: bool | None = None):
    body = _nested_query(request)
    body.pop("join_once", None)
    campaign = body.get("campaign")
    if isinstance(campaign, dict) and "count" in campaign:
        raw = campaign["count"]
        if not raw.isdigit():
            raise invalid_query("campaign[count] must be a whole number.")
        campaign["count"] = int(raw)
    return _publish(request, body, join_once)


@router.post("/publications", summary="Create Publication")
def publications_create(request, join_once: bool | None = None):
    return _publish(request, json_body(request), join_once)


@router.get("/publications", summary="List Publications")
def publications_list(
    request,
    limit: int = 10,
    page: int = 1,
    order: str | None = None,
    campaign: str | None = None,
    customer: str | None = None,
    voucher: str | None = None,
    result: str | None = None,
    voucher_type: str | None = None,
    is_referral_code: bool | None = None,
    source_id: str | None = None,
):
    project = request.api.project
    order_by = ordering(order, PUBLICATION_ORDER, "-created_at")
    queryset = Publication.objects.filter(project=project)
    if campaign:
        queryset = queryset.filter(Q(campaign__name=campaign) | Q(campaign__public_id=campaign))
    if customer:
        queryset = queryset.filter(
            Q(customer__public_id=customer) | Q(customer__source_id=customer)
        )
    if voucher:
        key = voucher if project.codes_case_sensitive else voucher.upper()
        queryset = queryset.filter(
            pk__in=Publication.vouchers.through.objects.filter(
                Q(voucher__code_key=key) | Q(voucher__public_id=voucher)
            ).values("publication_id")
        )
    if result:
        if result not in ("SUCCESS", "FAILURE"):
            raise invalid_query("result must be SUCCESS or FAILURE.")
        if result == "FAILURE":  # a refused publication is not stored
            queryset = queryset.none()
    if voucher_type:
        if voucher_type not in VOUCHER_TYPES:
            raise invalid_query(f"voucher_type must be one of {', '.join(VOUCHER_TYPES)}.")
        queryset = queryset.filter(
            pk__in=Publication.vouchers.through.objects.filter(
                voucher__type=VOUCHER_TYPES[voucher_type]
            ).values("publication_id")
        )
    if is_referral_code:
        queryset = queryset.filter(
            pk__in=Publication.vouchers.through.objects.filter(
                voucher__is_referral_code=True
            ).values("publication_id")
        )
    if source_id:
        queryset = queryset.filter(source_id=source_id)
    if order_by.lstrip("-") == "first_code":
        queryset = queryset.annotate(first_code=Min("vouchers__code"))
    return page_of(
        shapes.with_list_relations(queryset),
        data_ref="publications",
        shape=shapes.listed,
        limit=limit,
        page=page,
        order_by=order_by,
    )


# -- GET /v1/customers/{customerId}/redeemables (the customers router is another module's) -----

# filters[<field>][conditions][$is|$is_not]=<value> -> the voucher field it compares
REDEEMABLE_FIELDS = {
    "id": "public_id",
    "redeemable_id": "public_id",
    "campaign_id": "campaign__public_id",
    "campaign_type": "campaign__campaign_type",
    "voucher_type": "type",
    "holder_role": "is_referral_code",
    "redeemable_object": None,
}
HOLDER_ROLES = {"OWNER": False, "REFERRER": True}


def _redeemable_filters(request, queryset):
    """`filters[<field>][conditions][<operator>]=value`: $is and $is_not on REDEEMABLE_FIELDS,
    $after and $before on created_at (the day the customer got the code)."""
    filters = _nested_query(request).get("filters")
    if filters is None:
        return queryset
    if not isinstance(filters, dict):
        raise invalid_query("filters must be filters[<field>][conditions][<operator>]=<value>.")
    for name, spec in filters.items():
        if name == "junction":
            continue
        conditions = spec.get("conditions") if isinstance(spec, dict) else None
        if not isinstance(conditions, dict):
            raise invalid_query(f"filters[{name}] must be filters[{name}][conditions][...].")
        for operator, value in conditions.items():
            if not isinstance(value, str):
                raise invalid_query(f"filters[{name}][conditions][{operator}] takes one value.")
            queryset = _redeemable_filter(queryset, name, operator, value)
    return queryset


def _redeemable_filter(queryset, name: str, operator: str, value: str):
    unsupported = invalid_query(f"filters[{name}][conditions][{operator}] is not supported.")
    if name == "created_at":
        if operator not in ("$after", "$before"):
            raise unsupported
        try:
            moment = parse_datetime(value.strip())
        except ValueError:
            moment = None
        if moment is None:
            raise invalid_query("filters[created_at] takes ISO 8601 dates and times.")
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment, dt.UTC)
        lookup = "gt" if operator == "$after" else "lt"
        return queryset.filter(**{f"published_at__{lookup}": moment})
    if name not in REDEEMABLE_FIELDS or operator not in ("$is", "$is_not"):
        raise unsupported
    field = REDEEMABLE_FIELDS[name]
    if field is None:  # redeemable_object: every redeemable here is a voucher
        match = Q() if value == "voucher" else Q(pk__in=[])
    elif name == "holder_role":
        match = Q(**{field: HOLDER_ROLES[value]}) if value in HOLDER_ROLES else Q(pk__in=[])
    elif field == "public_id":
        match = Q(public_id=shapes.voucher_id_of_holder(value))
    else:
        match = Q(**{field: value})
    return queryset.filter(match) if operator == "$is" else queryset.exclude(match)


@router.get("/customers/{customer_id}/redeemables", summary="List Customer's Redeemables")
def customer_redeemables(
    request,
    customer_id: str,
    limit: int = 10,
    order: str | None = None,
    starting_after_id: str | None = None,
):
    check_paging(limit, 1)
    if order not in (None, "id", "-id"):
        raise invalid_query("order must be id or -id.")
    descending = order != "id"
    holder = lookups.customer(request.api.project, customer_id)
    held = Voucher.objects.filter(project=request.api.project, holder=holder)
    queryset = _redeemable_filters(request, held)
    total = queryset.count()
    if starting_after_id:
        after = held.filter(public_id=shapes.voucher_id_of_holder(starting_after_id)).first()
        if after is None:
            raise invalid_query(
                f"starting_after_id {starting_after_id} is not a holding of this customer."
            )
        queryset = (
            queryset.filter(pk__lt=after.pk) if descending else queryset.filter(pk__gt=after.pk)
        )
    rows = list(
        with_voucher_relations(queryset).order_by("-pk" if descending else "pk")[: limit + 1]
    )
    now = timezone.now()
    data = [shapes.customer_redeemable(v, request, now) for v in rows[:limit]]
    has_more = len(rows) > limit
    return {
        "object": "list",
        "data_ref": "data",
        "data": data,
        "total": total,
        "has_more": has_more,
        "more_starting_after": data[-1]["id"] if has_more else None,
    }
