"""Orders (reference §3.8): create/upsert, get, update, list, import, export."""

from ninja import Router

router = Router(tags=["orders"])
