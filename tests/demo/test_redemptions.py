"""The demo's validation rules and redemption history (apps/demo/redemptions.py)."""

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db.models import Count, Sum
from django.utils import timezone

from apps.campaigns.models import Voucher
from apps.orders.models import Order
from apps.projects.models import Project
from apps.redemptions.models import Redemption, RedemptionRollback, Status
from apps.rules.models import RuleAssignment, ValidationRule

pytestmark = pytest.mark.django_db


def counts() -> tuple:
    return (
        ValidationRule.objects.count(),
        RuleAssignment.objects.count(),
        Redemption.objects.count(),
        RedemptionRollback.objects.count(),
        Order.objects.count(),
        list(Voucher.objects.order_by("pk").values_list("redeemed_quantity", "gift_balance")),
    )


def test_seed_demo_adds_rules_redemptions_and_rollbacks_once():
    call_command("seed_demo", stdout=io.StringIO())
    project = Project.objects.get(name="Demo Shop")

    rules = {
        rule.name: rule
        for rule in ValidationRule.objects.filter(project=project).prefetch_related(
            "assignments__campaign", "assignments__tier"
        )
    }
    assert set(rules) == {
        "Orders over 50.00",
        "Once per customer",
        "VIP orders over 400.00",
        "Staff picks over 100.00",
    }
    targets = {
        name: sorted((a.campaign or a.tier).name for a in rule.assignments.all())
        for name, rule in rules.items()
    }
    assert targets == {
        "Orders over 50.00": ["Refer a friend"],
        "Once per customer": ["Refer a friend"],
        "VIP orders over 400.00": ["50.00 off orders above 400.00"],
        "Staff picks over 100.00": ["10% off orders above 100.00"],
    }
    assert rules["Staff picks over 100.00"].applicable_to["included"][0]["object"] == (
        "products_collection"
    )

    parents = Redemption.objects.filter(project=project, parent__isnull=True)
    by_status = dict(parents.values_list("status").annotate(n=Count("id")))
    assert sum(by_status.values()) == 300
    assert by_status[Status.FAILED] >= 30  # some fail on purpose
    assert by_status[Status.SUCCEEDED] >= 150
    failures = set(parents.filter(status=Status.FAILED).values_list("failure_code", flat=True))
    assert {"not_found", "order_rules_violated", "customer_rules_violated"} <= failures
    # every rule made some checkout fail
    explained = " ".join(
        parents.filter(status=Status.FAILED).values_list("details__explanation", flat=True)
    )
    for name in rules:
        assert name in explained, name

    # about 5 % of the successful ones are rolled back, later than they were redeemed
    rolled_back = parents.filter(status=Status.ROLLED_BACK)
    successful = by_status[Status.SUCCEEDED] + rolled_back.count()
    assert rolled_back.count() == pytest.approx(successful * 0.05, abs=1)
    rollbacks = RedemptionRollback.objects.filter(project=project, parent__isnull=True)
    assert rollbacks.count() == rolled_back.count()
    for rollback in rollbacks.select_related("redemption"):
        assert rollback.created_at > rollback.redemption.created_at
        assert rollback.reason

    # spread over the last 60 days, every successful one with its order
    now = timezone.now()
    times = list(parents.values_list("created_at", flat=True))
    assert min(times) >= now - timedelta(days=61)
    assert max(times) <= now
    assert max(times) - min(times) > timedelta(days=55)
    assert not parents.exclude(status=Status.FAILED).filter(order__isnull=True).exists()
    assert parents.filter(customer__isnull=False).count() > 250

    # the codes' uses and balances agree with what succeeded and was not rolled back
    kept = Redemption.objects.filter(
        project=project, parent__isnull=False, status=Status.SUCCEEDED, voucher__isnull=False
    )
    used = dict(kept.values_list("voucher").annotate(n=Count("id")))
    spent = dict(kept.values_list("voucher").annotate(n=Sum("gift_amount")))
    for voucher in Voucher.objects.filter(project=project):
        assert voucher.redeemed_quantity == used.get(voucher.pk, 0), voucher.code
        if voucher.gift_amount:
            assert voucher.gift_balance == voucher.gift_amount - (spent.get(voucher.pk) or 0)

    before = counts()
    call_command("seed_demo", stdout=io.StringIO())
    assert counts() == before
