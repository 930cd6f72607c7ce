"""Customers (reference §3.4): CRUD, upsert, permanent deletion, list, activity, segments, CSV
import and bulk/metadata async updates.
"""

from ninja import Router

router = Router(tags=["customers"])
