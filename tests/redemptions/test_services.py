"""Validation, redemption and rollback through the services, on the database."""

import pytest

from apps.campaigns.models import Voucher
from apps.core.errors import ApplicationError
from apps.customers.models import Customer
from apps.orders.models import Order
from apps.redemptions.models import Redemption, Status, ValidationSession
from apps.redemptions.services import (
    redemption_redeem,
    redemption_rollback,
    session_release,
    tracking_id_for,
    validation_check,
)
from tests.campaigns.factories import CampaignFactory, GiftCardFactory, VoucherFactory
from tests.products.factories import ProductFactory
from tests.rules.factories import RuleAssignmentFactory, ValidationRuleFactory

pytestmark = pytest.mark.django_db


def cart(amount=10000, **extra):
    return {"amount": amount, **extra}


def test_validation_explains_a_failed_rule_with_the_found_and_required_values(project):
    voucher = VoucherFactory(campaign=CampaignFactory(project=project), code="SAVE5")
    rule = ValidationRuleFactory(project=project)
    RuleAssignmentFactory(rule=rule, campaign=voucher.campaign)
    result = validation_check(
        project=project,
        payload={"redeemables": [{"object": "voucher", "id": "save5"}], "order": cart(8400)},
    )
    assert not result.valid
    [entry] = result.outcome.results
    assert entry.status == "INAPPLICABLE"
    assert entry.key == "order_rules_violated"
    assert "order amount 84.00 is below 100.00" in entry.explanation
    assert entry.failures[0].actual == 8400


def test_redeem_spends_one_use_writes_the_order_and_the_redemptions(project):
    voucher = VoucherFactory(
        campaign=CampaignFactory(project=project), code="SAVE5", redemption_quantity=2
    )
    product = ProductFactory(project=project, price=2500)
    done = redemption_redeem(
        project=project,
        payload={
            "redeemables": [{"object": "voucher", "id": "SAVE5"}],
            "customer": {"source_id": "alice@example.com"},
            "order": {"items": [{"product_id": product.public_id, "quantity": 4}]},
        },
    )
    assert done.error is None
    voucher.refresh_from_db()
    assert voucher.redeemed_quantity == 1
    order = Order.objects.get(pk=done.order.pk)
    assert (order.amount, order.discount_amount, order.total_amount) == (10000, 500, 9500)
    assert done.parent.status == Status.SUCCEEDED and len(done.children) == 1
    customer = Customer.objects.get(source_id="alice@example.com")
    assert customer.redemptions_total_succeeded == 1


def test_a_refused_redemption_is_recorded_and_changes_nothing(project):
    voucher = VoucherFactory(
        campaign=CampaignFactory(project=project),
        code="ONCE",
        redemption_quantity=1,
        redeemed_quantity=1,
    )
    done = redemption_redeem(
        project=project,
        payload={"redeemables": [{"object": "voucher", "id": "ONCE"}], "order": cart()},
    )
    assert done.error is not None and done.error.key == "quantity_exceeded"
    assert done.parent.status == Status.FAILED
    voucher.refresh_from_db()
    assert voucher.redeemed_quantity == 1
    assert Order.objects.count() == 0


def test_rollback_restores_use_and_gift_balance_exactly_once(project):
    card = GiftCardFactory(campaign__project=project, code="GIFT", gift_balance=5000)
    done = redemption_redeem(
        project=project,
        payload={
            "redeemables": [{"object": "voucher", "id": "GIFT", "gift": {"credits": 3000}}],
            "order": cart(4000),
        },
    )
    assert done.error is None
    card.refresh_from_db()
    assert card.gift_balance == 2000
    redemption_rollback(redemption=done.parent, reason="returned")
    card.refresh_from_db()
    assert (card.gift_balance, card.redeemed_quantity) == (5000, 0)
    with pytest.raises(ApplicationError) as error:
        redemption_rollback(redemption=done.parent)
    assert error.value.key == "already_rolled_back"
    assert Order.objects.get().total_amount == 4000


def test_session_lock_reserves_a_use_until_released(project):
    VoucherFactory(campaign=CampaignFactory(project=project), code="LOCKME", redemption_quantity=1)
    body = {
        "redeemables": [{"object": "voucher", "id": "LOCKME"}],
        "order": cart(),
        "session": {"type": "LOCK", "key": "ssn_a"},
    }
    assert validation_check(project=project, payload=body).valid
    other = validation_check(
        project=project, payload={**body, "session": {"type": "LOCK", "key": "ssn_b"}}
    )
    assert not other.valid and other.outcome.results[0].key == "quantity_exceeded"
    assert validation_check(project=project, payload=body).valid  # same key: still its own lock
    session_release(project=project, code="LOCKME", key="ssn_a")
    assert validation_check(
        project=project, payload={**body, "session": {"type": "LOCK", "key": "ssn_b"}}
    ).valid
    assert ValidationSession.objects.filter(released_at__isnull=True).count() == 1
    done = redemption_redeem(
        project=project, payload={**body, "session": {"type": "LOCK", "key": "ssn_b"}}
    )
    assert done.error is None
    assert ValidationSession.objects.filter(released_at__isnull=True).count() == 0
    assert Voucher.objects.get(code="LOCKME").redeemed_quantity == 1
    assert Redemption.objects.filter(status=Status.SUCCEEDED, parent__isnull=True).count() == 1


def test_expired_sessions_stop_counting_and_are_released_by_the_periodic_task(project):
    import datetime as dt

    from apps.redemptions.tasks import sessions_expire_task

    VoucherFactory(campaign=CampaignFactory(project=project), code="TTL", redemption_quantity=1)
    from django.utils import timezone

    start = timezone.now() - dt.timedelta(hours=1)
    body = {
        "redeemables": [{"object": "voucher", "id": "TTL"}],
        "order": cart(),
        "session": {"type": "LOCK", "key": "ssn_1", "ttl": 30, "ttl_unit": "MINUTES"},
    }
    assert validation_check(project=project, payload=body, now=start).valid
    other = {**body, "session": {"type": "LOCK", "key": "ssn_2"}}
    assert not validation_check(project=project, payload=other, now=start).valid
    later = start + dt.timedelta(minutes=31)
    assert validation_check(project=project, payload=other, now=later).valid
    assert sessions_expire_task() == 1  # ssn_1 (ssn_2's lock lasts 7 days)


def test_anonymous_redemptions_are_merged_into_the_customer_by_tracking_id(project):
    VoucherFactory(campaign=CampaignFactory(project=project), code="ANON")
    first = validation_check(
        project=project,
        payload={"redeemables": [{"object": "voucher", "id": "ANON"}], "order": cart()},
    )
    assert first.tracking_id.startswith("track_")
    anonymous = redemption_redeem(
        project=project,
        payload={
            "redeemables": [{"object": "voucher", "id": "ANON"}],
            "order": cart(),
            "tracking_id": first.tracking_id,
        },
    )
    assert anonymous.parent.customer is None
    known = redemption_redeem(
        project=project,
        payload={
            "redeemables": [{"object": "voucher", "id": "ANON"}],
            "order": cart(),
            "tracking_id": first.tracking_id,
            "customer": {"source_id": "bob"},
        },
    )
    customer = known.parent.customer
    assert Redemption.objects.filter(customer=customer, parent__isnull=True).count() == 2
    same = validation_check(
        project=project,
        payload={
            "redeemables": [{"object": "voucher", "id": "ANON"}],
            "customer": {"source_id": "bob"},
        },
    )
    assert same.tracking_id == tracking_id_for(customer, None)


def test_deleting_a_campaign_keeps_its_redemptions_and_drops_rule_links(project):
    from apps.campaigns.services import campaign_delete
    from apps.rules.models import RuleAssignment

    voucher = VoucherFactory(campaign=CampaignFactory(project=project), code="GONE")
    RuleAssignmentFactory(rule=ValidationRuleFactory(project=project), voucher=voucher)
    done = redemption_redeem(
        project=project,
        payload={"redeemables": [{"object": "voucher", "id": "GONE"}], "order": cart()},
    )
    campaign_delete(campaign=voucher.campaign)
    child = Redemption.objects.get(pk=done.children[0].pk)
    assert (child.voucher_id, child.code) == (None, "GONE")
    assert not RuleAssignment.objects.exists()


def test_a_unit_discount_adds_the_free_units_to_the_stored_order(project):
    from tests.campaigns.factories import PromotionTierFactory

    socks = ProductFactory(project=project, price=700, name="Socks")
    shoes = ProductFactory(project=project, price=5000, name="Shoes")
    tier = PromotionTierFactory(
        campaign__project=project,
        discount={
            "type": "UNIT",
            "unit_off": 2,
            "unit_type": socks.public_id,
            "effect": "ADD_MISSING_ITEMS",
        },
    )
    done = redemption_redeem(
        project=project,
        payload={
            "redeemables": [{"object": "promotion_tier", "id": tier.public_id}],
            "order": {
                "items": [
                    {"product_id": shoes.public_id, "quantity": 1},
                    {"product_id": socks.public_id, "quantity": 1},
                ]
            },
        },
    )
    assert done.error is None, done.error
    order = Order.objects.get(pk=done.order.pk)
    lines = {item.product_id: item for item in order.items.all()}
    assert (lines[socks.pk].quantity, lines[socks.pk].discount_amount) == (2, 1400)
    assert (order.amount, order.items_discount_amount, order.total_amount) == (6400, 1400, 5000)
    assert done.children[0].amount == 1400


def test_a_new_free_product_line_is_stored_with_its_product(project):
    from tests.campaigns.factories import PromotionTierFactory

    gift = ProductFactory(project=project, price=999, name="Tote bag")
    tier = PromotionTierFactory(
        campaign__project=project,
        discount={
            "type": "UNIT",
            "unit_off": 1,
            "unit_type": gift.public_id,
            "effect": "ADD_NEW_ITEMS",
        },
    )
    done = redemption_redeem(
        project=project,
        payload={
            "redeemables": [{"object": "promotion_tier", "id": tier.public_id}],
            "order": {"amount": 3000},
        },
    )
    assert done.error is None, done.error
    [line] = Order.objects.get(pk=done.order.pk).items.all()
    assert (line.product_id, line.name, line.quantity, line.discount_amount) == (
        gift.pk,
        "Tote bag",
        1,
        999,
    )
    assert Order.objects.get(pk=done.order.pk).total_amount == 3000


def test_events_fire_after_commit_for_success_failure_and_rollback(
    project, django_capture_on_commit_callbacks
):
    from apps.core import events

    seen = []

    def record(event):
        if event.type.startswith("redemption."):
            seen.append((event.type, type(event.object).__name__))

    events.subscribe(record)
    try:
        VoucherFactory(campaign=CampaignFactory(project=project), code="SIG", redemption_quantity=1)
        body = {"redeemables": [{"object": "voucher", "id": "SIG"}], "order": cart()}
        with django_capture_on_commit_callbacks(execute=True):
            done = redemption_redeem(project=project, payload=body)
        with django_capture_on_commit_callbacks(execute=True):
            redemption_redeem(project=project, payload=body)
        with django_capture_on_commit_callbacks(execute=True):
            redemption_rollback(redemption=done.parent)
    finally:
        events._subscribers.remove(record)
    assert seen == [
        ("redemption.succeeded", "Redemption"),
        ("redemption.failed", "Redemption"),
        ("redemption.rollback.succeeded", "RedemptionRollback"),
    ]


def test_collection_rules_see_static_and_auto_collections_of_products_and_skus(project):
    from apps.products.models import CollectionItem
    from apps.rules.services import rule_create
    from tests.products.factories import ProductCollectionFactory, SkuFactory

    shoe = ProductFactory(project=project, price=8000, name="Shoe")
    sock = ProductFactory(project=project, price=500, name="Sock")
    hat_sku = SkuFactory(product=ProductFactory(project=project, price=3000), price=3000)
    static = ProductCollectionFactory(project=project, type="STATIC")
    CollectionItem.objects.create(collection=static, product=shoe)
    CollectionItem.objects.create(collection=static, sku=hat_sku)
    dear = ProductCollectionFactory(
        project=project,
        type="AUTO_UPDATE",
        filter={"junction": "and", "price": {"conditions": {"$more_than": [1000]}}},
    )
    rule = rule_create(
        project=project,
        payload={
            "name": "Shoes or hats, on dear things",
            "rules": {
                "1": {
                    "name": "product.id",
                    "conditions": {
                        "$in": [{"object": "products_collection", "id": static.public_id}]
                    },
                },
                "logic": "1",
            },
            "applicable_to": {
                "included": [{"object": "products_collection", "id": dear.public_id}]
            },
        },
    )
    voucher = VoucherFactory(
        campaign=CampaignFactory(project=project),
        code="HALF",
        discount={"type": "PERCENT", "percent_off": 50, "effect": "APPLY_TO_ITEMS"},
    )
    RuleAssignmentFactory(rule=rule, campaign=voucher.campaign)

    def check(items):
        return validation_check(
            project=project,
            payload={
                "redeemables": [{"object": "voucher", "id": "HALF"}],
                "order": {"items": items},
            },
        ).outcome.results[0]

    socks_only = check([{"product_id": sock.public_id, "quantity": 2}])
    assert socks_only.status == "INAPPLICABLE" and socks_only.key == "order_rules_violated"
    with_shoe = check(
        [
            {"product_id": sock.public_id, "quantity": 2},
            {"product_id": shoe.public_id, "quantity": 1},
        ]
    )
    assert with_shoe.status == "APPLICABLE"
    assert with_shoe.applied.items == {1: 4000}  # half of the shoe; socks are not "dear"
    with_hat = check([{"sku_id": hat_sku.public_id, "quantity": 1}])
    assert with_hat.status == "APPLICABLE"
    assert with_hat.applied.items == {0: 1500}  # the SKU's product is dear (30.00)


def test_queries_per_validation_do_not_grow_with_redeemables_items_or_rules(
    project, django_assert_max_num_queries
):
    from apps.segments.models import SegmentMember
    from tests.customers.factories import CustomerFactory
    from tests.segments.factories import SegmentFactory

    customer = CustomerFactory(project=project, source_id="q")
    segment = SegmentFactory(project=project, type="static")
    SegmentMember.objects.create(segment=segment, customer=customer, created_at=customer.created_at)
    products = [ProductFactory(project=project, price=1000 + i) for i in range(30)]
    codes = []
    for i in range(12):
        campaign = CampaignFactory(project=project)
        rule = ValidationRuleFactory(
            project=project,
            rules={
                "1": {"name": "customer.segment", "conditions": {"$in": [segment.public_id]}},
                "2": {"name": "order.amount", "conditions": {"$more_than": [100]}},
                "3": {"name": "redemption.count.per_customer", "conditions": {"$less_than": [5]}},
                "4": {"name": "campaign.redemptions.count", "conditions": {"$less_than": [50]}},
                "logic": "1 and 2 and 3 and 4",
            },
        )
        RuleAssignmentFactory(rule=rule, campaign=campaign)
        voucher = VoucherFactory(campaign=campaign, code=f"Q{i}", redemption_quantity=3)
        one_item = {
            "1": {"name": "order.items.count", "conditions": {"$more_than_or_equal": [1]}},
            "logic": "1",
        }
        RuleAssignmentFactory(
            rule=ValidationRuleFactory(project=project, rules=one_item), voucher=voucher
        )
        codes.append(voucher.code)

    def payload(count, lines):
        return {
            "redeemables": [{"object": "voucher", "id": code} for code in codes[:count]],
            "order": {
                "items": [{"product_id": p.public_id, "quantity": 1} for p in products[:lines]]
            },
            "customer": {"source_id": "q"},
        }

    for count, lines in ((1, 1), (12, 30)):
        with django_assert_max_num_queries(12):
            result = validation_check(project=project, payload=payload(count, lines))
        assert result.valid, [r.explanation for r in result.outcome.results]


def test_queries_per_redemption_do_not_grow_with_the_number_of_codes(project):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    products = [ProductFactory(project=project, price=1000) for _ in range(10)]
    codes = [
        VoucherFactory(campaign=CampaignFactory(project=project), code=f"N{i}").code
        for i in range(6)
    ]

    def redeem(chosen):
        with CaptureQueriesContext(connection) as captured:
            done = redemption_redeem(
                project=project,
                payload={
                    "redeemables": [{"object": "voucher", "id": code} for code in chosen],
                    "order": {
                        "items": [{"product_id": p.public_id, "quantity": 1} for p in products]
                    },
                    "customer": {"source_id": "n-plus-one"},
                },
            )
        assert done.error is None, done.error
        return len(captured)

    redeem(codes[:1])  # creates the customer
    one, five = redeem(codes[1:2]), redeem(codes[2:6])
    # one conditional UPDATE and one child row per code; nothing else grows
    assert five - one <= 4, (one, five)
