"""Customers (reference §3.4): CRUD, upsert, permanent deletion, list, activity, segments, CSV
import and bulk/metadata async updates.
"""

from datetime import datetime

from django.http import HttpResponse
from ninja import Query, Router, Schema, Status
from pydantic import Field

from apps.customers import selectors, services
from apps.customers.models import Customer
from apps.imports.models import ImportKind
from apps.imports.services import import_unattended

from .. import lookups
from ..listing import check_paging, invalid_query, ordering
from ..payload import csv_upload, json_body, json_list
from ..serializers import iso
from ..shapes.customers import customer, customer_reference, with_cards
from ..shapes.segments import simple_segment
from .async_actions import accepted

router = Router(tags=["customers"])

ORDERING = {"created_at": "created_at", "updated_at": "updated_at", "source_id": "source_id"}
MAX_CUSTOMER_PAGE = 99  # the SDK's list_customers refuses a page above 99


def _customer(request, customer_id: str) -> Customer:
    return lookups.customer(request.api.project, customer_id)


def _profile(body: dict) -> dict:
    """A customer request body -> the profile fields the services take."""
    return services.flatten_customer_payload(
        {key: value for key, value in body.items() if key not in ("id", "source_id", "object")}
    )


# -- literal paths first: Django matches in order ------------------------------------------------


@router.post(
    "/customers/importCSV", summary="Import and Update Customers using CSV", response={202: dict}
)
def customers_import_csv(request):
    imp = import_unattended(
        project=request.api.project, kind=ImportKind.CUSTOMERS, upload=csv_upload(request)
    )
    return Status(202, accepted(imp.job))


@router.post("/customers/bulk/async", summary="Update Customers in Bulk", response={202: dict})
def customers_bulk_update(request):
    job = services.customers_bulk_update_start(
        project=request.api.project, customers=json_list(request)
    )
    return Status(202, accepted(job))


@router.post(
    "/customers/metadata/async",
    summary="Update Customers' Metadata in Bulk",
    response={202: dict},
)
def customers_metadata_update(request):
    body = json_body(request)
    job = services.customers_metadata_update_start(
        project=request.api.project,
        source_ids=body.get("source_ids"),
        metadata=body.get("metadata"),
    )
    return Status(202, accepted(job))


class CustomerFilters(Schema):
    limit: int = 10
    page: int = 1
    email: str | None = None
    city: str | None = None
    name: str | None = None
    segment_id: str | None = None
    created_before: datetime | None = Field(None, alias="created_at[before]")
    created_after: datetime | None = Field(None, alias="created_at[after]")
    updated_before: datetime | None = Field(None, alias="updated_at[before]")
    updated_after: datetime | None = Field(None, alias="updated_at[after]")
    order: str | None = None
    starting_after: datetime | None = None


@router.get("/customers", summary="List Customers")
def customers_list(request, filters: Query[CustomerFilters]):
    check_paging(filters.limit, 1)
    if not 1 <= filters.page <= MAX_CUSTOMER_PAGE:
        raise invalid_query(f"page must be from 1 to {MAX_CUSTOMER_PAGE}.")
    order_by = ordering(filters.order, ORDERING, "-created_at")
    found = selectors.customer_api_list(
        project=request.api.project,
        email=filters.email,
        city=filters.city,
        name=filters.name,
        segment_id=filters.segment_id,
        created_before=filters.created_before,
        created_after=filters.created_after,
        updated_before=filters.updated_before,
        updated_after=filters.updated_after,
        starting_after=filters.starting_after,
        descending=order_by.startswith("-"),
    )
    found = found.order_by(order_by, "-pk" if order_by.startswith("-") else "pk")
    start = (filters.page - 1) * filters.limit
    rows = list(with_cards(found)[start : start + filters.limit + 1])
    has_more = len(rows) > filters.limit
    rows = rows[: filters.limit]
    total = len(rows) if filters.page == 1 and not has_more else found.count()
    return {
        "object": "list",
        "data_ref": "customers",
        "customers": [customer(row) for row in rows],
        "total": total,
        "has_more": has_more,
    }


@router.post("/customers", summary="Create Customer")
def customers_create(request):
    """Create a customer; with the source_id of an existing one, update it (Voucherify's upsert);
    with an `id`, update that customer."""
    body = json_body(request)
    project = request.api.project
    if body.get("id"):
        found = _customer(request, str(body["id"]))
        return customer(services.customer_update(customer=found, data=_profile(body)))
    if "source_id" in body:
        created, _ = services.customer_upsert(
            project=project, source_id=body["source_id"], data=_profile(body)
        )
        return customer(created)
    return customer(services.customer_create(project=project, data=_profile(body)))


# -- one customer --------------------------------------------------------------------------------


@router.get("/customers/{customer_id}", summary="Get Customer")
def customers_get(request, customer_id: str):
    return customer(_customer(request, customer_id))


@router.put("/customers/{customer_id}", summary="Update Customer")
def customers_update(request, customer_id: str):
    found = _customer(request, customer_id)
    body = json_body(request)
    data = _profile(body)
    if "source_id" in body:
        data["source_id"] = body["source_id"]
    return customer(services.customer_update(customer=found, data=data))


@router.delete("/customers/{customer_id}", summary="Delete Customer", response={204: None})
def customers_delete(request, customer_id: str):
    services.customer_delete(customer=_customer(request, customer_id))
    return HttpResponse(status=204)


@router.post("/customers/{customer_id}/permanent-deletion", summary="Delete Customer Permanently")
def customers_permanent_deletion(request, customer_id: str):
    receipt = services.customer_permanently_delete(customer=_customer(request, customer_id))
    counts = receipt.counts or {}
    return {
        "id": receipt.public_id,
        "created_at": iso(receipt.created_at),
        "related_object_id": receipt.customer_public_id,
        "related_object": "customer",
        "status": "DONE",
        "data_json": {
            "events": counts.get("events", 0),
            "customer_events": counts.get("events", 0),
            "daily_events": 0,
            "segments": counts.get("segments", 0),
            "orders": counts.get("orders", 0),
            "order_events": 0,
            "customer": 1,
        },
        # sic: Voucherify's spelling of the object name
        "object": "pernament_deletion",
    }


@router.get("/customers/{customer_id}/segments", summary="List Customer's Segments")
def customers_segments(request, customer_id: str):
    segments = selectors.customer_segments(customer=_customer(request, customer_id))
    return {
        "object": "list",
        "data_ref": "data",
        "data": [simple_segment(segment) for segment in segments],
        "total": len(segments),
    }


class ActivityFilters(Schema):
    limit: int = 10
    order: str = "-created_at"
    starting_after_id: str | None = None
    start_date: datetime | None = None
    end_date: datetime | None = None
    campaign_id: str | None = None
    campaign_type: str | None = None
    category: str | None = None
    type: str | None = None


CAMPAIGN_TYPES = ("PROMOTION", "GIFT_VOUCHERS", "REFERRAL_PROGRAM", "DISCOUNT_COUPONS")
CAMPAIGN_TYPES += ("LOYALTY_PROGRAM",)


def _check_activity_filters(filters: ActivityFilters) -> None:
    check_paging(filters.limit, 1)
    if filters.order not in ("created_at", "-created_at"):
        raise invalid_query("order must be created_at or -created_at.")
    if filters.start_date and filters.end_date and filters.start_date > filters.end_date:
        raise invalid_query("start_date must not be after end_date.")
    if filters.campaign_type and filters.campaign_type not in CAMPAIGN_TYPES:
        raise invalid_query(f"campaign_type must be one of {', '.join(CAMPAIGN_TYPES)}.")
    if filters.category and filters.category not in ("ACTION", "EFFECT"):
        raise invalid_query("category must be ACTION or EFFECT.")


@router.get("/customers/{customer_id}/activity", summary="List Customer Activity")
@router.get(
    "/customers/{customer_id}/activities",
    summary="List Customer Activities",
    operation_id="customers_activities",
)
def customers_activity(request, customer_id: str, filters: Query[ActivityFilters]):
    """The customer's activities, newest first by default; pass the last one's id as
    `starting_after_id` for the next page (`more_starting_after`)."""
    found = _customer(request, customer_id)
    _check_activity_filters(filters)
    try:
        activities, has_more = selectors.customer_activities(
            customer=found,
            limit=filters.limit,
            descending=filters.order.startswith("-"),
            starting_after_id=filters.starting_after_id,
            start_date=filters.start_date,
            end_date=filters.end_date,
            campaign_id=filters.campaign_id,
            campaign_type=filters.campaign_type,
            category=filters.category,
            type=filters.type,
        )
    except selectors.ActivityCursorError as exc:
        raise invalid_query(f"starting_after_id {exc} is no activity of this customer.") from None
    reference = customer_reference(found)
    body = {
        "object": "list",
        "data_ref": "data",
        "data": [activity(entry, reference) for entry in activities],
        "has_more": has_more,
    }
    if has_more and activities:
        body["more_starting_after"] = activities[-1].id
    return body


# -- activity shapes -----------------------------------------------------------------------------


def _campaign(campaign) -> dict | None:
    if campaign is None:
        return None
    return {"id": campaign.public_id, "name": campaign.name, "object": "campaign"}


def _activity_type(entry) -> str:
    row = entry.row
    if entry.kind == "custom_event":
        return "customer.custom_event"
    if entry.kind == "order_event":
        return f"customer.{row.type}"
    if entry.kind == "redemption":
        return "customer.redemption." + ("succeeded" if row.result == "SUCCESS" else "failed")
    if entry.kind == "rollback":
        outcome = "succeeded" if row.result == "SUCCESS" else "failed"
        return f"customer.redemption.rollback.{outcome}"
    if entry.kind == "publication":
        return "customer.publication.succeeded"
    return row.type  # segment events carry Voucherify's type


def _activity_data(entry) -> dict:
    row = entry.row
    if entry.kind == "custom_event":
        return {
            "event": {
                "id": row.public_id,
                "type": row.name,
                "metadata": row.metadata or {},
                "created_at": iso(row.created_at),
                "object": "event",
            }
        }
    if entry.kind == "order_event":
        order = row.order
        return {
            "order": {
                "id": order.public_id,
                "source_id": order.source_id,
                "status": order.status,
                "amount": order.amount,
                "total_amount": order.total_amount,
                "metadata": order.metadata or {},
                "object": "order",
            }
        }
    if entry.kind == "redemption":
        return {
            "redemption": {
                "id": row.public_id,
                "result": row.result,
                "status": row.status,
                "amount": row.amount,
                "tracking_id": row.tracking_id or None,
                "related_object_type": row.related_object_type,
                "voucher": {"id": row.voucher.public_id, "code": row.voucher.code}
                if row.voucher_id
                else None,
                "promotion_tier": {"id": row.tier.public_id, "name": row.tier.name}
                if row.tier_id
                else None,
                "object": "redemption",
            },
            "campaign": _campaign(row.campaign),
        }
    if entry.kind == "rollback":
        return {
            "redemption_rollback": {
                "id": row.public_id,
                "redemption": row.redemption.public_id,
                "result": row.result,
                "status": row.status,
                "amount": -row.amount if row.amount else 0,
                "reason": row.reason or None,
                "object": "redemption_rollback",
            }
        }
    if entry.kind == "publication":
        return {
            "publication": {
                "id": row.public_id,
                "source_id": row.source_id,
                "channel": row.channel,
                "metadata": row.metadata or {},
                "object": "publication",
            },
            "campaign": _campaign(row.campaign),
        }
    return {"segment": simple_segment(row.segment)}


def activity(entry, reference: dict) -> dict:
    return {
        "id": entry.id,
        "type": _activity_type(entry),
        "data": {**_activity_data(entry), "customer": reference},
        "created_at": iso(entry.at),
        "group_id": None,
    }
