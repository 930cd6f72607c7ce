"""The redemption screens: list and filters, a redemption's page with its explanation and rollback,
and the redemption sections of the order, customer and campaign pages."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from apps.campaigns.models import Voucher
from apps.projects.models import Role
from apps.redemptions.models import Redemption, RedemptionRollback, Status
from apps.redemptions.selectors import campaign_redemption_figures
from apps.redemptions.services import redemption_redeem, redemption_rollback
from tests.campaigns.factories import (
    CampaignFactory,
    GiftCardFactory,
    PromotionTierFactory,
    VoucherFactory,
)
from tests.customers.factories import CustomerFactory
from tests.products.factories import ProductFactory
from tests.projects.factories import ProjectFactory
from tests.rules.factories import RuleAssignmentFactory, ValidationRuleFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def redeem(project, *codes, amount=10000, customer=None, now=None, channel="API", **extra):
    payload = {"redeemables": [{"object": "voucher", "id": code} for code in codes], **extra}
    payload.setdefault("order", {"amount": amount})
    if customer:
        payload["customer"] = {"source_id": customer}
    return redemption_redeem(
        project=project, payload=payload, now=now, channel_type=channel, channel_id="test"
    )


@pytest.fixture
def shop(project):
    """Two campaigns of the project: SAVE5 (5.00 off) and MIN100 (5.00 off orders of 100.00+)."""
    spring = CampaignFactory(project=project, name="Spring sale")
    VoucherFactory(campaign=spring, code="SAVE5")
    strict = CampaignFactory(project=project, name="Big baskets")
    VoucherFactory(campaign=strict, code="MIN100")
    RuleAssignmentFactory(rule=ValidationRuleFactory(project=project), campaign=strict)
    return {"spring": spring, "strict": strict}


def _rows(response) -> list[str]:
    return [r.public_id for r in response.context["page"]]


# --- list -----------------------------------------------------------------------------------


def test_list_shows_one_row_per_checkout_with_its_codes(owner_client, project, shop):
    done = redeem(project, "SAVE5", customer="ann")
    redeem(ProjectFactory(), "THEIRS")
    response = owner_client.get(reverse("redemptions:list"))
    html = response.content.decode()
    assert response.status_code == 200
    assert _rows(response) == [done.parent.public_id]
    assert "<code>SAVE5</code>" in html
    assert "$5.00" in html
    assert "SUCCESS" in html and "SUCCEEDED" in html
    assert "THEIRS" not in html


def test_list_requires_login(client):
    response = client.get(reverse("redemptions:list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_list_returns_the_results_partial_for_htmx(owner_client, project, shop):
    redeem(project, "SAVE5")
    response = owner_client.get(reverse("redemptions:list"), {"result": "SUCCESS"}, **HTMX)
    html = response.content.decode()
    assert 'id="redemption-results"' in html
    assert "<html" not in html and 'id="redemption-filter"' not in html
    # the page and the partial share a URL: caches (and the back button) must tell them apart
    assert "HX-Request" in response["Vary"]


@pytest.fixture
def history(project, shop):
    """Five checkouts: ok (API, ann, today), failed rule (API, bob), ok then rolled back
    (USER, ann), an unknown code (API, anonymous) and, recorded last, one dated 10 days ago
    (bob). The list is newest-recorded first (by id, the indexed order)."""
    now = timezone.now()
    ok = redeem(project, "SAVE5", customer="ann").parent
    failed = redeem(project, "MIN100", amount=8400, customer="bob").parent
    rolled = redeem(project, "SAVE5", customer="ann", channel="USER").parent
    redemption_rollback(redemption=rolled, reason="returned")
    unknown = redeem(project, "NOPE").parent
    old = redeem(project, "MIN100", amount=20000, customer="bob", now=now - dt.timedelta(days=10))
    return {"ok": ok, "failed": failed, "rolled": rolled, "unknown": unknown, "old": old.parent}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ["old", "unknown", "rolled", "failed", "ok"]),
        ({"result": "FAILURE"}, ["unknown", "failed"]),
        ({"status": "ROLLED_BACK"}, ["rolled"]),
        ({"status": "SUCCEEDED"}, ["old", "ok"]),
        ({"campaign": "strict"}, ["old", "failed"]),
        ({"campaign": "spring"}, ["rolled", "ok"]),
        ({"code": "save5"}, ["rolled", "ok"]),
        ({"code": "NOPE"}, ["unknown"]),  # no such voucher: found by the code as redeemed
        ({"code": "NEVER-SEEN"}, []),
        ({"customer": "bob"}, ["old", "failed"]),
        ({"customer": "ANN"}, []),  # source ids are exact
        ({"channel_type": "USER"}, ["rolled"]),
        ({"created_before": "{old_day}"}, ["old"]),
        ({"created_after": "{today}"}, ["unknown", "rolled", "failed", "ok"]),
        ({"result": "SUCCESS", "customer": "ann", "campaign": "spring"}, ["rolled", "ok"]),
    ],
)
def test_list_filters_narrow(owner_client, project, shop, history, params, expected):
    today = timezone.now().date()
    values = {
        "strict": shop["strict"].public_id,
        "spring": shop["spring"].public_id,
        "old_day": (today - dt.timedelta(days=10)).isoformat(),
        "today": today.isoformat(),
    }
    query = {key: values.get(value, value).format(**values) for key, value in params.items()}
    response = owner_client.get(reverse("redemptions:list"), query)
    assert response.status_code == 200
    assert _rows(response) == [history[name].public_id for name in expected]


def test_customer_filter_takes_email_and_customer_id(owner_client, project, shop, history):
    ann = history["ok"].customer
    ann.email = "Ann@Example.com"
    ann.save()
    for value in ("ann@example.com", ann.public_id):
        response = owner_client.get(reverse("redemptions:list"), {"customer": value})
        assert _rows(response) == [history["rolled"].public_id, history["ok"].public_id]


def test_every_redeemable_rows_filter_on_the_children(owner_client, project, shop, history):
    both = redeem(project, "SAVE5", "MIN100", amount=15000)
    response = owner_client.get(
        reverse("redemptions:list"), {"show": "redeemables", "campaign": shop["spring"].public_id}
    )
    rows = list(response.context["page"])
    assert all(r.parent_id is not None for r in rows)
    assert [r.parent_id for r in rows] == [
        both.parent.pk,
        history["rolled"].pk,
        history["ok"].pk,
    ]
    assert "Spring sale" in response.content.decode()


def test_list_runs_the_same_queries_for_one_row_or_many(owner_client, project, shop):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            response = owner_client.get(reverse("redemptions:list"))
        assert response.status_code == 200
        return len(captured)

    tier = PromotionTierFactory(campaign__project=project, name="Tier ten off")
    redeem(project, "SAVE5", customer="c0")
    one = queries()
    for n in range(1, 6):
        redemption_redeem(
            project=project,
            payload={
                "redeemables": [
                    {"object": "voucher", "id": "SAVE5"},
                    {"object": "promotion_tier", "id": tier.public_id},
                ],
                "order": {"amount": 20000},
                "customer": {"source_id": f"c{n}"},
            },
        )
    assert queries() == one
    assert "Tier ten off" in owner_client.get(reverse("redemptions:list")).content.decode()


def test_bad_filter_values_show_an_error_not_a_crash(owner_client, project, shop, history):
    response = owner_client.get(reverse("redemptions:list"), {"status": "BOGUS"})
    assert response.status_code == 200
    assert _rows(response) == []
    assert "Select a valid choice" in response.content.decode()


# --- a redemption's page ------------------------------------------------------------------------


def test_detail_explains_a_failed_redemption(owner_client, project, shop):
    failed = redeem(project, "MIN100", amount=8400, customer="bob").parent
    response = owner_client.get(reverse("redemptions:detail", args=[failed.public_id]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "order amount 84.00 is below 100.00" in html
    assert "order_rules_violated" in html
    assert "FAILURE" in html and "FAILED" in html
    assert "Roll back redemption" not in html  # a failure has nothing to undo


def test_detail_shows_a_rules_custom_error_message(owner_client, project):
    voucher = VoucherFactory(campaign__project=project, code="VIP")
    rule = ValidationRuleFactory(
        project=project,
        rules={
            "1": {
                "name": "order.amount",
                "conditions": {"$more_than_or_equal": [10000]},
                "error": {"message": "Spend 100 to use VIP"},
            },
            "logic": "1",
        },
    )
    RuleAssignmentFactory(rule=rule, voucher=voucher)
    failed = redeem(project, "VIP", amount=5000).parent
    html = owner_client.get(reverse("redemptions:detail", args=[failed.public_id])).content
    assert "Spend 100 to use VIP" in html.decode()


def test_detail_shows_the_redeemables_order_and_items(owner_client, project, shop):
    product = ProductFactory(project=project, name="Blue mug", price=2500)
    done = redemption_redeem(
        project=project,
        payload={
            "redeemables": [{"object": "voucher", "id": "SAVE5"}],
            "order": {"items": [{"product_id": product.public_id, "quantity": 4}]},
            "customer": {"source_id": "ann"},
            "metadata": {"store": "Berlin"},
        },
    )
    response = owner_client.get(reverse("redemptions:detail", args=[done.parent.public_id]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "SAVE5" in html and "Spring sale" in html
    assert "Blue mug" in html
    assert "$100.00" in html and "$95.00" in html  # order amount and total after the discount
    assert "Berlin" in html
    assert reverse("orders:detail", args=[done.order.public_id]) in html
    assert reverse("customers:detail", args=[done.parent.customer.public_id]) in html
    assert "Roll back redemption" in html


def test_detail_of_a_redeemable_goes_to_its_checkout(owner_client, project, shop):
    done = redeem(project, "SAVE5")
    child = done.children[0]
    response = owner_client.get(reverse("redemptions:detail", args=[child.public_id]))
    assert response.status_code == 302
    assert response["Location"] == (
        reverse("redemptions:detail", args=[done.parent.public_id])
        + f"#redeemable-{child.public_id}"
    )


def test_detail_404s_for_another_projects_redemption(owner_client):
    VoucherFactory(campaign__project=(other := ProjectFactory()), code="THEIRS")
    theirs = redeem(other, "THEIRS").parent
    assert (
        owner_client.get(reverse("redemptions:detail", args=[theirs.public_id])).status_code == 404
    )
    assert owner_client.get(reverse("redemptions:detail", args=["r_unknown"])).status_code == 404
    response = owner_client.post(
        reverse("redemptions:rollback", args=[theirs.public_id]), {"reason": "x"}
    )
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == Status.SUCCEEDED


# --- rollback ------------------------------------------------------------------------------------


def test_rollback_works_once_then_says_already_rolled_back(member_client, project, shop):
    client = member_client(Role.MARKETER)
    done = redeem(project, "SAVE5", customer="ann")
    url = reverse("redemptions:rollback", args=[done.parent.public_id])

    # when the marketer rolls it back with a reason
    response = client.post(url, {"reason": "Customer returned the goods"}, follow=True)

    # then the checkout and its code are rolled back, and the history says who and why
    html = response.content.decode()
    assert response.status_code == 200
    done.parent.refresh_from_db()
    assert done.parent.status == Status.ROLLED_BACK
    assert Voucher.objects.get(code="SAVE5").redeemed_quantity == 0
    rollback = RedemptionRollback.objects.get(redemption=done.parent)
    assert rollback.reason == "Customer returned the goods"
    assert rollback.created_by == client.membership.user
    assert rollback.channel_type == "USER"
    assert "rolled back" in html and "Customer returned the goods" in html
    assert "ROLLED_BACK" in html
    assert "Roll back redemption" not in html

    # and a second attempt (a stale page) is refused with the reason
    again = client.post(url, {"reason": "twice"})
    assert again.status_code == 200
    assert "already rolled back" in again.content.decode()
    assert RedemptionRollback.objects.filter(redemption=done.parent).count() == 1


def test_rollback_by_htmx_returns_the_updated_page_region(owner_client, project, shop):
    done = redeem(project, "SAVE5")
    response = owner_client.post(
        reverse("redemptions:rollback", args=[done.parent.public_id]),
        {"reason": "test order"},
        **HTMX,
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="redemption-detail"' in html
    assert "<html" not in html
    assert "ROLLED_BACK" in html and "test order" in html
    assert 'hx-swap-oob="true"' in html  # the success message


def test_rollback_needs_a_reason(owner_client, project, shop):
    done = redeem(project, "SAVE5")
    url = reverse("redemptions:rollback", args=[done.parent.public_id])
    for reason in ("", "   ", "x" * 501):
        response = owner_client.post(url, {"reason": reason})
        assert response.status_code == 200
        assert "is-invalid" in response.content.decode()
    done.parent.refresh_from_db()
    assert done.parent.status == Status.SUCCEEDED


def test_rollback_of_a_failed_redemption_is_refused(owner_client, project, shop):
    failed = redeem(project, "MIN100", amount=100).parent
    response = owner_client.post(
        reverse("redemptions:rollback", args=[failed.public_id]), {"reason": "why not"}
    )
    assert response.status_code == 200
    assert "A failed redemption cannot be rolled back." in response.content.decode()
    assert not RedemptionRollback.objects.exists()


def test_rollback_older_than_three_months_is_refused(owner_client, project, shop):
    done = redeem(project, "SAVE5", now=timezone.now() - dt.timedelta(days=120))
    response = owner_client.post(
        reverse("redemptions:rollback", args=[done.parent.public_id]), {"reason": "late"}
    )
    assert "within 3 months only" in response.content.decode()
    done.parent.refresh_from_db()
    assert done.parent.status == Status.SUCCEEDED


def test_viewer_cannot_roll_back_nor_sees_the_form(member_client, project, shop):
    client = member_client(Role.VIEWER)
    done = redeem(project, "SAVE5")
    page = client.get(reverse("redemptions:detail", args=[done.parent.public_id]))
    assert page.status_code == 200
    assert "Roll back redemption" not in page.content.decode()
    response = client.post(
        reverse("redemptions:rollback", args=[done.parent.public_id]), {"reason": "sneaky"}
    )
    assert response.status_code == 403
    done.parent.refresh_from_db()
    assert done.parent.status == Status.SUCCEEDED


def test_rollback_is_post_only(owner_client, project, shop):
    done = redeem(project, "SAVE5")
    response = owner_client.get(reverse("redemptions:rollback", args=[done.parent.public_id]))
    assert response.status_code == 405


# --- sections of the order, customer and campaign pages ----------------------------------------


def test_order_page_loads_its_redemptions(owner_client, project, shop):
    tier = PromotionTierFactory(campaign__project=project, name="Ten off big orders")
    done = redemption_redeem(
        project=project,
        payload={
            "redeemables": [
                {"object": "voucher", "id": "SAVE5"},
                {"object": "promotion_tier", "id": tier.public_id},
            ],
            "order": {"amount": 20000, "source_id": "order-1"},
        },
    )
    page = owner_client.get(reverse("orders:detail", args=[done.order.public_id]))
    section_url = reverse("redemptions:for_order", args=[done.order.public_id])
    assert f'hx-get="{section_url}"' in page.content.decode()

    response = owner_client.get(section_url, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html and 'id="order-redemptions"' in html
    assert "SAVE5" in html and "Ten off big orders" in html
    minus = "\N{MINUS SIGN}"
    assert f"{minus}$5.00" in html and f"{minus}$10.00" in html
    assert reverse("redemptions:detail", args=[done.parent.public_id]) in html


def test_section_urls_without_htmx_go_to_their_page(owner_client, project, shop):
    done = redeem(project, "SAVE5", customer="ann")
    order, customer = done.order, done.parent.customer
    for name, target, arg in (
        ("for_order", "orders:detail", order.public_id),
        ("for_customer", "customers:detail", customer.public_id),
        ("for_campaign", "campaigns:detail", shop["spring"].public_id),
    ):
        response = owner_client.get(reverse(f"redemptions:{name}", args=[arg]))
        assert response.status_code == 302
        assert response["Location"] == reverse(target, args=[arg])


def test_customer_page_loads_vouchers_held_and_redemptions(owner_client, project, shop):
    ann = CustomerFactory(project=project, source_id="ann")
    VoucherFactory(campaign=shop["spring"], code="ANNS-CODE", holder=ann, redemption_quantity=3)
    GiftCardFactory(campaign__project=project, code="ANNS-CARD", holder=ann, gift_balance=4200)
    VoucherFactory(campaign=shop["spring"], code="NOT-HERS")
    done = redeem(project, "ANNS-CODE", customer="ann")
    redeem(project, "MIN100", amount=100, customer="ann")
    redeem(project, "SAVE5", customer="someone-else")

    page = owner_client.get(reverse("customers:detail", args=[ann.public_id]))
    section_url = reverse("redemptions:for_customer", args=[ann.public_id])
    assert f'hx-get="{section_url}"' in page.content.decode()

    response = owner_client.get(section_url, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert "ANNS-CODE" in html and "ANNS-CARD" in html and "NOT-HERS" not in html
    assert "1 / 3" in html  # redeemed once of three
    assert "$42.00" in html  # the card's balance
    assert [r.customer_id for r in response.context["redemptions"]] == [ann.pk, ann.pk]
    assert reverse("redemptions:detail", args=[done.parent.public_id]) in html
    assert f"{reverse('redemptions:list')}?customer={ann.public_id}" in html


def test_campaign_page_loads_its_redemption_figures(owner_client, project, shop):
    spring = shop["spring"]
    VoucherFactory(campaign=spring, code="ONCE", redemption_quantity=1)
    redeem(project, "SAVE5")
    redeem(project, "ONCE")
    redeem(project, "ONCE")  # used up: a failure
    redemption_rollback(redemption=redeem(project, "SAVE5").parent, reason="returned")
    redeem(project, "MIN100", amount=20000)  # another campaign

    figures = campaign_redemption_figures(campaign=spring)
    assert figures == {
        "succeeded": 2,
        "failed": 1,
        "rolled_back": 1,
        "discount": 1000,
        "gift_credits": 0,
        "loyalty_points": 0,
    }

    page = owner_client.get(reverse("campaigns:detail", args=[spring.public_id]))
    section_url = reverse("redemptions:for_campaign", args=[spring.public_id])
    assert f'hx-get="{section_url}"' in page.content.decode()
    response = owner_client.get(section_url, **HTMX)
    html = response.content.decode()
    assert 'data-testid="figure-succeeded">2<' in html
    assert 'data-testid="figure-failed">1<' in html
    assert 'data-testid="figure-rolled-back">1<' in html
    assert 'data-testid="figure-discount">$10.00<' in html
    assert f"{reverse('redemptions:list')}?campaign={spring.public_id}" in html


def test_campaign_figures_count_gift_credits_in_one_query(project, django_assert_num_queries):
    card = GiftCardFactory(campaign__project=project, code="GIFT", gift_balance=5000)
    redemption_redeem(
        project=project,
        payload={
            "redeemables": [{"object": "voucher", "id": "GIFT", "gift": {"credits": 2000}}],
            "order": {"amount": 3000},
        },
    )
    with django_assert_num_queries(1):
        figures = campaign_redemption_figures(campaign=card.campaign)
    assert (figures["succeeded"], figures["gift_credits"]) == (1, 2000)


def test_sections_404_for_another_projects_objects(owner_client):
    other = ProjectFactory()
    VoucherFactory(campaign__project=other, code="THEIRS")
    done = redeem(other, "THEIRS", customer="them")
    for name, arg in (
        ("for_order", done.order.public_id),
        ("for_customer", done.parent.customer.public_id),
        ("for_campaign", done.children[0].campaign.public_id),
    ):
        response = owner_client.get(reverse(f"redemptions:{name}", args=[arg]), **HTMX)
        assert response.status_code == 404
    assert Redemption.objects.filter(project=other).count() == 2
