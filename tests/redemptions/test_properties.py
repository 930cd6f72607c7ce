"""Rollback restores the exact prior state (hypothesis, on the database): redeem a gift card or a
code with a limited quantity a random number of times, roll the redemptions back in a random
order, and the voucher's uses and balance, the customer's summary and every order's totals come
back to what they were before."""

import itertools

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.campaigns.models import Voucher
from apps.customers.models import Customer
from apps.orders.models import Order
from apps.redemptions.models import Redemption, RedemptionRollback, Status
from apps.redemptions.services import redemption_redeem, redemption_rollback
from tests.campaigns.factories import CampaignFactory, GiftCardFactory, VoucherFactory
from tests.customers.factories import CustomerFactory
from tests.products.factories import ProductFactory

pytestmark = pytest.mark.django_db

EXAMPLES = settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
SEQUENCE = itertools.count()

orders = st.one_of(
    st.tuples(st.just("amount"), st.integers(min_value=1, max_value=30_000)),
    st.tuples(
        st.just("items"),
        st.lists(
            st.tuples(st.integers(min_value=0, max_value=1), st.integers(min_value=1, max_value=4)),
            min_size=1,
            max_size=3,
        ),
    ),
)
# ("redeem", credits asked or None, order) | ("rollback", which of the live redemptions)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("redeem"), st.none() | st.integers(min_value=1, max_value=8_000), orders),
        st.tuples(st.just("rollback"), st.integers(min_value=0, max_value=100)),
    ),
    min_size=1,
    max_size=8,
)


def customer_summary(customer) -> tuple:
    """What a rollback gives back: credits, points and the net count of successful uses."""
    customer = Customer.objects.get(pk=customer.pk)
    return (
        customer.gift_redeemed_amount,
        customer.loyalty_redeemed_points,
        customer.redemptions_total_succeeded - customer.redemptions_total_rolled_back,
    )


def voucher_state(voucher) -> tuple:
    voucher = Voucher.objects.get(pk=voucher.pk)
    return (voucher.redeemed_quantity, voucher.gift_balance or 0)


def order_totals(order_id) -> tuple:
    order = Order.objects.get(pk=order_id)
    return (
        order.amount,
        order.discount_amount,
        order.items_discount_amount,
        order.total_discount_amount,
        order.total_amount,
        tuple(order.items.order_by("position").values_list("discount_amount", flat=True)),
    )


def undiscounted(order_id) -> tuple:
    order = Order.objects.get(pk=order_id)
    return (order.amount, 0, 0, 0, order.amount, (0,) * order.items.count())


def order_payload(spec, products, number) -> dict:
    kind, value = spec
    if kind == "amount":
        return {"source_id": f"ord-{number}", "amount": value}
    return {
        "source_id": f"ord-{number}",
        "items": [
            {"product_id": products[which].public_id, "quantity": quantity}
            for which, quantity in value
        ],
    }


def play(project, voucher, ops, *, gift: bool) -> None:
    """Run the operations against a model of what must hold, then roll back what is left."""
    customer = CustomerFactory(project=project, source_id=f"buyer-{next(SEQUENCE)}")
    products = [
        ProductFactory(project=project, price=price) for price in (1_999, 4_250)
    ]  # items orders
    start_voucher, start_customer = voucher_state(voucher), customer_summary(customer)
    live: list[Redemption] = []
    used = {"quantity": 0, "credits": 0}
    for op in ops:
        if op[0] == "redeem":
            _, credits, spec = op
            entry = {"object": "voucher", "id": voucher.code}
            if gift and credits is not None:
                entry["gift"] = {"credits": credits}
            done = redemption_redeem(
                project=project,
                payload={
                    "redeemables": [entry],
                    "order": order_payload(spec, products, next(SEQUENCE)),
                    "customer": {"source_id": customer.source_id},
                },
            )
            if done.error is None:
                (child,) = done.children
                live.append(done.parent)
                used["quantity"] += 1
                used["credits"] += child.gift_amount
                order = Order.objects.get(pk=done.order.pk)
                assert order.total_discount_amount == child.amount
                assert order.total_amount == order.amount - child.amount
            else:
                assert done.parent.status == Status.FAILED
        elif live:
            parent = live.pop(op[1] % len(live))
            before_rollback = order_totals(parent.order_id)
            assert (before_rollback == undiscounted(parent.order_id)) is (parent.amount == 0)
            rolled = redemption_rollback(redemption=parent, reason="property test")
            assert rolled.parent.amount == parent.amount
            used["quantity"] -= 1
            used["credits"] -= parent.gift_amount
            assert order_totals(parent.order_id) == undiscounted(parent.order_id)
        quantity, balance = voucher_state(voucher)
        assert quantity == start_voucher[0] + used["quantity"]
        assert balance == start_voucher[1] - used["credits"]
        gift_amount, points, net = customer_summary(customer)
        assert (gift_amount, points, net) == (
            start_customer[0] + used["credits"],
            start_customer[1],
            start_customer[2] + used["quantity"],
        )
    while live:
        redemption_rollback(redemption=live.pop(), reason="property test")
    assert voucher_state(voucher) == start_voucher
    assert customer_summary(customer) == start_customer
    for order_id in Redemption.objects.filter(customer=customer).values_list("order_id", flat=True):
        if order_id is not None:
            assert order_totals(order_id) == undiscounted(order_id)
    assert not Redemption.objects.filter(customer=customer, status=Status.SUCCEEDED).exists()
    succeeded = Redemption.objects.filter(
        customer=customer, parent__isnull=True, status=Status.ROLLED_BACK
    ).count()
    assert (
        RedemptionRollback.objects.filter(customer_id=customer.pk, parent__isnull=True).count()
        == succeeded
    )


class Discard(Exception):
    """Leaves the example's atomic block so its rows are rolled back."""


@EXAMPLES
@given(balance=st.integers(min_value=1, max_value=20_000), ops=operations)
def test_gift_card_rollbacks_restore_the_prior_state(project, balance, ops):
    with pytest.raises(Discard), transaction.atomic():
        card = GiftCardFactory(
            campaign__project=project,
            code=f"GIFT{next(SEQUENCE)}",
            gift_amount=balance,
            gift_balance=balance,
        )
        play(project, card, ops, gift=True)
        raise Discard


DISCOUNTS = [
    {"type": "AMOUNT", "amount_off": 750, "effect": "APPLY_TO_ORDER"},
    {"type": "PERCENT", "percent_off": 33.333, "effect": "APPLY_TO_ITEMS"},
    {"type": "AMOUNT", "amount_off": 1_001, "effect": "APPLY_TO_ITEMS_PROPORTIONALLY"},
    {"type": "PERCENT", "percent_off": 12.5, "effect": "APPLY_TO_ORDER", "amount_limit": 900},
]


@EXAMPLES
@given(
    quantity=st.integers(min_value=1, max_value=4),
    discount=st.sampled_from(DISCOUNTS),
    ops=operations,
)
def test_code_rollbacks_restore_uses_and_order_totals(project, quantity, discount, ops):
    with pytest.raises(Discard), transaction.atomic():
        code = VoucherFactory(
            campaign=CampaignFactory(project=project),
            code=f"CODE{next(SEQUENCE)}",
            redemption_quantity=quantity,
            discount=discount,
        )
        play(project, code, ops, gift=False)
        # every use is back: the code can be redeemed `quantity` times again
        for _ in range(quantity):
            again = redemption_redeem(
                project=project,
                payload={
                    "redeemables": [{"object": "voucher", "id": code.code}],
                    "order": {"amount": 10_000},
                },
            )
            assert again.error is None
        refused = redemption_redeem(
            project=project,
            payload={
                "redeemables": [{"object": "voucher", "id": code.code}],
                "order": {"amount": 10_000},
            },
        )
        assert refused.error is not None and refused.error.key == "quantity_exceeded"
        raise Discard


def _two_codes(project):
    for code, cents in (("FIRST", 1_000), ("SECOND", 300)):
        VoucherFactory(
            campaign=CampaignFactory(project=project),
            code=code,
            discount={"type": "AMOUNT", "amount_off": cents, "effect": "APPLY_TO_ORDER"},
        )


def _redeem(project, code, order):
    done = redemption_redeem(
        project=project,
        payload={"redeemables": [{"object": "voucher", "id": code}], "order": order},
    )
    assert done.error is None
    return done


def _totals():
    order = Order.objects.get()
    return (order.amount, order.discount_amount, order.total_amount)


def test_a_second_redemption_on_the_same_order_adds_up_and_rolls_back_alone(project):
    _two_codes(project)
    first = _redeem(project, "FIRST", {"source_id": "ord-same", "amount": 5_000})
    _redeem(project, "SECOND", {"source_id": "ord-same", "amount": 5_000})
    assert _totals() == (5_000, 1_300, 3_700)
    redemption_rollback(redemption=first.parent)
    assert _totals() == (5_000, 300, 4_700)


def test_a_stored_order_referenced_by_source_id_keeps_its_amount(project):
    _two_codes(project)
    _redeem(project, "FIRST", {"source_id": "ord-ref", "amount": 5_000})
    _redeem(project, "SECOND", {"source_id": "ord-ref"})
    assert Order.objects.get().amount == 5_000
