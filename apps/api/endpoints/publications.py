"""Publications (reference §3.11): create by POST and GET, list."""

from ninja import Router

router = Router(tags=["publications"])
