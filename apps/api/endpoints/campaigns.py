"""Campaigns (reference §3.3): create (generation as an async action), get, update, delete,
enable, disable, add vouchers, import, summary.
"""

from ninja import Router

router = Router(tags=["campaigns"])
