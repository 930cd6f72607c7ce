"""Vouchers (reference §3.1): generate, create with code, get, update, delete, enable, disable,
balance, transactions, import, release session.
"""

from ninja import Router

router = Router(tags=["vouchers"])
