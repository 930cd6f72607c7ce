"""Our objects in Voucherify's JSON shapes (reference §3.8 to 3.12).

The official SDK parses responses into strict pydantic models: integers stay integers, enums
only take the spec's values, and fields it requires are always present. The SDK contract tests
(tests/api/test_sdk_checkout.py) hold these functions to that.
"""

from apps.engine.validation import APPLICABLE, INAPPLICABLE, SKIPPED, Outcome, Result


def iso(moment) -> str | None:
    if moment is None:
        return None
    return moment.isoformat().replace("+00:00", "Z")


def _empty_list() -> dict:
    return {"object": "list", "data_ref": "data", "data": [], "total": 0}


# -- orders ------------------------------------------------------------------------------------


def engine_order(snapshot, outcome: Outcome, totals=None) -> dict:
    """The calculated order of a validation: the request's order with the discounts applied so
    far (`totals`, by default all of them)."""
    totals = totals or outcome.totals
    order = snapshot.order
    items = []
    for index, item in enumerate(outcome.items):
        discount = totals.items.get(index, 0)
        line = {
            "object": "order_item",
            "related_object": "sku" if item.sku_id else "product",
            "quantity": item.quantity,
            "amount": item.amount,
            "price": item.price,
            "discount_amount": discount,
            "applied_discount_amount": max(0, discount - item.discount_amount),
            "subtotal_amount": item.amount - discount,
        }
        if item.product_id:
            line["product_id"] = item.product_id
        if item.sku_id:
            line["sku_id"] = item.sku_id
        if item.product_source_id:
            line["source_id"] = item.sku_source_id or item.product_source_id
        items.append(line)
    body = {
        "object": "order",
        "amount": totals.amount,
        "discount_amount": totals.discount_amount,
        "items_discount_amount": totals.items_discount_amount,
        "total_discount_amount": totals.total_discount_amount,
        "total_amount": totals.total_amount,
        "applied_discount_amount": totals.applied_discount_amount,
        "items_applied_discount_amount": totals.items_applied_discount_amount,
        "total_applied_discount_amount": totals.total_applied_discount_amount,
        "items": items,
        "metadata": order.metadata or {},
    }
    if order.initial_amount is not None:
        body["initial_amount"] = order.initial_amount
    if snapshot.customer is not None:
        body["customer_id"] = snapshot.customer.public_id
        body["customer"] = {"id": snapshot.customer.public_id, "object": "customer"}
    return body


def _items(order):
    """The order's items with their products and SKUs, in one query (or none if prefetched)."""
    if "items" in getattr(order, "_prefetched_objects_cache", {}):
        return order.items.all()
    return order.items.select_related("product", "sku").order_by("position")


def stored_order(order) -> dict | None:
    if order is None:
        return None
    items = [
        {
            "object": "order_item",
            "related_object": item.related_object if item.related_object == "sku" else "product",
            "product_id": item.product.public_id if item.product_id else None,
            "sku_id": item.sku.public_id if item.sku_id else None,
            "source_id": item.source_id or None,
            "quantity": item.quantity,
            "amount": item.amount,
            "price": item.price,
            "discount_amount": item.discount_amount,
            "subtotal_amount": item.amount - item.discount_amount,
            "metadata": item.metadata or {},
        }
        for item in _items(order)
    ]
    return {
        "id": order.public_id,
        "object": "order",
        "source_id": order.source_id,
        "status": order.status,
        "amount": order.amount,
        "initial_amount": order.initial_amount,
        "discount_amount": order.discount_amount,
        "items_discount_amount": order.items_discount_amount,
        "total_discount_amount": order.total_discount_amount,
        "total_amount": order.total_amount,
        "items": items,
        "metadata": order.metadata or {},
        "customer_id": order.customer.public_id if order.customer_id else None,
        "created_at": iso(order.created_at),
        "updated_at": iso(order.updated_at),
    }


# -- validation --------------------------------------------------------------------------------


def _categories(result: Result) -> list[dict]:
    return [
        {
            "id": category.id,
            "name": category.name,
            "hierarchy": category.hierarchy,
            "stacking_rules_type": category.stacking_rules_type,
            "object": "category",
        }
        for category in result.redeemable.categories
    ]


def _result_body(result: Result, request_id: str) -> dict:
    redeemable = result.redeemable
    if result.status == INAPPLICABLE:
        error = result.error()
        error["request_id"] = request_id
        error["resource_id"] = redeemable.id
        error["resource_type"] = redeemable.object
        error.pop("failures", None)
        body = {"error": error}
        if result.failures:
            # Voucherify's shape, plus what failed: each condition with found and required
            body["details"] = {
                "key": result.key,
                "message": result.explanation,
                "failures": [failure.as_dict() for failure in result.failures],
            }
        return body
    if result.status == SKIPPED:
        return {"details": {"key": result.key, "message": result.message}}
    if redeemable.type == "GIFT_VOUCHER":
        return {"gift": {"credits": result.credits, "balance": redeemable.gift_balance}}
    if redeemable.type == "LOYALTY_CARD":
        return {"loyalty_card": {"points": result.points, "balance": redeemable.loyalty_balance}}
    discount = dict(redeemable.discount or {})
    return {"discount": discount}


def redeemable_entry(result: Result, snapshot, outcome: Outcome, request_id: str) -> dict:
    redeemable = result.redeemable
    body = failed_entry(result, request_id)
    if redeemable.found:
        body["name"] = redeemable.name
        if redeemable.campaign_id:
            body["campaign_id"] = redeemable.campaign_id
            body["campaign_name"] = redeemable.campaign_name
    if result.status == APPLICABLE:
        body["order"] = engine_order(snapshot, outcome, result.totals)
        body["applicable_to"] = _empty_list()
        body["inapplicable_to"] = _empty_list()
    return body


def validation(validation, request_id: str) -> dict:
    outcome, snapshot = validation.outcome, validation.snapshot
    entries = [redeemable_entry(r, snapshot, outcome, request_id) for r in outcome.results]
    body = {
        "id": validation.id,
        "valid": outcome.valid,
        "redeemables": entries,
        "inapplicable_redeemables": [e for e in entries if e["status"] == INAPPLICABLE] or None,
        "skipped_redeemables": [e for e in entries if e["status"] == SKIPPED] or None,
        "order": engine_order(snapshot, outcome),
        "tracking_id": validation.tracking_id,
        "stacking_rules": snapshot.request.stacking.as_dict(),
    }
    if validation.session is not None and outcome.valid:
        body["session"] = validation.session.as_dict()
    return body


# -- redemptions -------------------------------------------------------------------------------


def _voucher(voucher) -> dict | None:
    if voucher is None:
        return None
    campaign = voucher.campaign if voucher.campaign_id else None
    body = {
        "id": voucher.public_id,
        "code": voucher.code,
        "object": "voucher",
        "type": voucher.type,
        "campaign": campaign.name if campaign else None,
        "campaign_id": campaign.public_id if campaign else None,
        "active": voucher.active,
    }
    if voucher.discount:
        body["discount"] = voucher.discount
    return body


def _tier(tier) -> dict | None:
    if tier is None:
        return None
    return {
        "id": tier.public_id,
        "object": "promotion_tier",
        "name": tier.name,
        "banner": tier.banner,
        "action": {"discount": tier.discount},
        "campaign_id": tier.campaign.public_id,
        "active": tier.active,
    }


def _event(item, kind: str) -> dict:
    """What a redemption and a rollback share: id, date, customer, tracking id, metadata."""
    return {
        "id": item.public_id,
        "object": kind,
        "date": iso(item.created_at),
        "customer_id": item.customer.public_id if item.customer_id else None,
        "tracking_id": item.tracking_id or None,
        "metadata": item.metadata or {},
    }


def redemption(item, *, parent_id: str | None = None, order=None) -> dict:
    """One Redemption object (a parent or a child)."""
    body = {
        **_event(item, "redemption"),
        "amount": item.amount,
        "redemption": parent_id,
        "result": item.result,
        "status": item.status,
        "related_object_type": item.related_object_type,
        "channel": {"channel_id": item.channel_id or None, "channel_type": item.channel_type},
        "order": order,
    }
    if item.failure_code:
        body["failure_code"] = item.failure_code
        body["failure_message"] = item.failure_message
    if item.session_key:
        body["session"] = {"key": item.session_key}
    if item.customer_id:
        customer = item.customer
        body["customer"] = {
            "id": customer.public_id,
            "source_id": customer.source_id,
            "name": customer.name or None,
            "email": customer.email or None,
            "metadata": customer.metadata or {},
            "object": "customer",
        }
    if item.related_object_type == "voucher":
        body["related_object_id"] = item.voucher.public_id if item.voucher_id else None
        body["voucher"] = _voucher(item.voucher) if item.voucher_id else None
    elif item.related_object_type == "promotion_tier":
        body["related_object_id"] = item.tier.public_id if item.tier_id else None
        body["promotion_tier"] = _tier(item.tier) if item.tier_id else None
    else:
        body["related_object_id"] = item.public_id
    if item.gift_amount:
        body["gift"] = {"amount": item.gift_amount}
    if item.loyalty_points:
        body["loyalty_card"] = {"points": item.loyalty_points}
    return body


def redeemed(done, request_id: str) -> dict:
    order = stored_order(done.order)
    parent = done.parent.public_id
    return {
        "redemptions": [redemption(c, parent_id=parent, order=order) for c in done.children],
        "parent_redemption": redemption(done.parent, order=order),
        "order": order,
        "inapplicable_redeemables": [failed_entry(r, request_id) for r in done.inapplicable]
        or None,
        "skipped_redeemables": [failed_entry(r, request_id) for r in done.skipped] or None,
    }


def failed_entry(result: Result, request_id: str) -> dict:
    """A redeemable's status and result (with names and the order added when it applies)."""
    redeemable = result.redeemable
    return {
        "status": result.status,
        "id": redeemable.id,
        "object": redeemable.object,
        "result": _result_body(result, request_id),
        "metadata": redeemable.metadata or {},
        "categories": _categories(result),
    }


def rollback(item, *, order=None) -> dict:
    redeemed_item = item.redemption
    body = {
        **_event(item, "redemption_rollback"),
        "amount": -item.amount if item.amount else 0,
        "redemption": redeemed_item.public_id,
        "reason": item.reason or None,
        "result": item.result,
        "status": item.status,
        "related_object_type": redeemed_item.related_object_type,
        "related_object_id": (
            redeemed_item.voucher.public_id
            if redeemed_item.voucher_id
            else redeemed_item.tier.public_id
            if redeemed_item.tier_id
            else redeemed_item.public_id
        ),
        "channel": {
            "channel_id": item.channel_id or None,
            "channel_type": item.channel_type if item.channel_type in ("USER", "API") else "API",
        },
        "order": order,
    }
    if item.gift_amount:
        body["gift"] = {"amount": -item.gift_amount}
    if item.loyalty_points:
        body["loyalty_card"] = {"points": -item.loyalty_points}
    return body


def rolled_back(done) -> dict:
    order = stored_order(done.order)
    return {
        "rollbacks": [rollback(child, order=order) for child in done.rollbacks],
        "parent_rollback": rollback(done.parent, order=order),
        "order": order,
    }


# -- qualification -----------------------------------------------------------------------------


def qualification(result) -> dict:
    data = []
    for qualified in result.redeemables:
        ref, engine_result = qualified.ref, qualified.result
        redeemable = engine_result.redeemable
        entry = {
            "id": ref.id,
            "object": ref.object,
            "result": _result_body(engine_result, ""),
            "metadata": redeemable.metadata or {},
            "categories": _categories(engine_result),
            "name": redeemable.name,
            "applicable_to": _empty_list(),
            "inapplicable_to": _empty_list(),
        }
        if redeemable.campaign_id:
            entry["campaign_id"] = redeemable.campaign_id
            entry["campaign_name"] = redeemable.campaign_name
        if ref.tier is not None:
            entry["banner"] = ref.tier.banner or None
        data.append(entry)
    return {
        "redeemables": {
            "object": "list",
            "data_ref": "data",
            "data": data,
            "total": result.total,
            "has_more": result.has_more,
        },
        "tracking_id": result.tracking_id,
        "stacking_rules": result.stacking_rules,
    }
