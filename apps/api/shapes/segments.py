"""The segment object (reference §3.5) in Voucherify's shape."""

from apps.segments.models import Segment

from ..serializers import iso


def segment(s: Segment) -> dict:
    """One segment, as GET /v1/segments/{id} answers it."""
    return {
        "id": s.public_id,
        "name": s.name,
        "created_at": iso(s.created_at),
        "updated_at": iso(s.updated_at),
        "type": s.type,
        "filter": s.filter if s.follows_filter else None,
        "initial_sync_status": s.initial_sync_status,
        "object": "segment",
    }


def simple_segment(s: Segment) -> dict:
    """The short form a customer's segment list uses."""
    return {"id": s.public_id, "name": s.name, "object": "segment"}
