"""Segments (reference §3.5): create, get, delete, list.

Filters are Voucherify's filter JSON, which the segment services compile as they are; a field
or operator they cannot express is a 400 naming it.
"""

from django.http import HttpResponse
from ninja import Router

from apps.segments import services
from apps.segments.models import Segment
from apps.segments.selectors import segment_list

from .. import lookups
from ..listing import check_paging, ordering
from ..payload import json_body
from ..shapes.segments import segment

router = Router(tags=["segments"])

ORDERING = {"created_at": "created_at", "updated_at": "updated_at", "name": "name"}


@router.post("/segments", summary="Create Segment")
def segments_create(request):
    """A static segment from `customers` (ids or source_ids), or an auto-update/passive one
    from `filter`, computed by a job after the answer (`initial_sync_status: IN_PROGRESS`)."""
    body = json_body(request)
    created = services.segment_create(
        project=request.api.project,
        name=body.get("name"),
        type=body.get("type"),
        filter=body.get("filter"),
        customer_ids=body.get("customers"),
        refuse_unknown=True,
    )
    created.refresh_from_db()  # a filter segment may already be computed (eager tasks)
    return segment(created)


@router.get("/segments", summary="List Segments")
def segments_list(request, limit: int = 10, page: int = 1, order: str | None = None):
    check_paging(limit, page)
    order_by = ordering(order, ORDERING, "-created_at")
    found = segment_list(project=request.api.project).order_by(
        order_by, "-pk" if order_by.startswith("-") else "pk"
    )
    rows = list(found[(page - 1) * limit : page * limit + 1])
    has_more = len(rows) > limit
    rows = rows[:limit]
    return {
        "object": "list",
        "data_ref": "segments",
        "segments": [segment(row) for row in rows],
        "total": len(rows) if page == 1 and not has_more else found.count(),
        "has_more": has_more,
    }


@router.get("/segments/{segment_id}", summary="Get Segment")
def segments_get(request, segment_id: str):
    return segment(lookups.by_id(Segment, request.api.project, segment_id, "segment"))


@router.delete("/segments/{segment_id}", summary="Delete Segment", response={204: None})
def segments_delete(request, segment_id: str):
    found = lookups.by_id(Segment, request.api.project, segment_id, "segment")
    services.segment_delete(segment=found)
    return HttpResponse(status=204)
