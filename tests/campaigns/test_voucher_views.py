import datetime as dt

import pytest
from django.db.models import Sum
from django.urls import reverse

from apps.campaigns import services
from apps.campaigns.models import (
    CampaignMode,
    Publication,
    PublicationChannel,
    Voucher,
    VoucherTransaction,
    VoucherType,
)
from apps.jobs.models import Job
from apps.projects.models import Role
from tests.campaigns.factories import (
    CampaignFactory,
    CategoryFactory,
    PromotionFactory,
    PublicationFactory,
    VoucherFactory,
)
from tests.customers.factories import CustomerFactory
from tests.projects.factories import ProjectFactory
from tests.segments.factories import SegmentMemberFactory


def url(name, voucher, **extra):
    return reverse(f"campaigns:{name}", kwargs={"voucher_id": voucher.public_id, **extra})


def gift_card(project, amount=5000, code="GIFT-1"):
    return services.voucher_create(
        project=project, payload={"type": "GIFT_VOUCHER", "gift": {"amount": amount}}, code=code
    )


def loyalty_card(project, points=100, code="LOYAL-1"):
    return services.voucher_create(
        project=project,
        payload={"type": "LOYALTY_CARD", "loyalty_card": {"points": points}},
        code=code,
    )


def ledger_sum(voucher) -> int:
    return voucher.transactions.aggregate(total=Sum("amount"))["total"] or 0


# detail ----------------------------------------------------------------------------------------


def test_detail_of_a_discount_voucher(owner_client, project):
    # given a voucher held by a customer through a publication
    voucher = VoucherFactory(campaign__project=project, code="SAVE5", redemption_quantity=3)
    customer = CustomerFactory(project=project, name="Hanna Holder")
    services.publication_create(
        project=project, customer=customer, voucher=voucher.code, channel="API"
    )

    response = owner_client.get(url("voucher_detail", voucher))

    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="voucher-code">SAVE5<' in html
    assert "$5.00 off" in html
    assert "0 redeemed of 3" in html
    assert url("voucher_qr", voucher, fmt="svg") in html
    assert url("voucher_barcode", voucher, fmt="svg") in html
    assert reverse("campaigns:detail", args=[voucher.campaign.public_id]) in html
    assert reverse("customers:detail", args=[customer.public_id]) in html
    assert "Hanna Holder" in html
    assert 'data-testid="ledger"' not in html  # no ledger for discount vouchers
    assert "sig=" in html  # the signed links for sharing


def test_detail_of_a_gift_card_shows_balance_and_ledger(owner_client, project):
    card = gift_card(project, amount=5000)

    response = owner_client.get(url("voucher_detail", card))

    html = response.content.decode()
    assert 'data-testid="card-balance">$50.00<' in html
    assert "Opening balance" in html
    assert "Balance = sum of 1 entry" in html


def test_detail_of_a_loyalty_card_shows_points(owner_client, project):
    card = loyalty_card(project, points=120)

    html = owner_client.get(url("voucher_detail", card)).content.decode()

    assert 'data-testid="card-balance">120 points<' in html
    assert "Points added" in html


def test_detail_flags_a_ledger_that_does_not_sum_to_the_balance(owner_client, project):
    card = gift_card(project, amount=5000)
    Voucher.objects.filter(pk=card.pk).update(gift_balance=4000)

    html = owner_client.get(url("voucher_detail", card)).content.decode()

    assert "Entries sum to $50.00, not the balance" in html


def test_detail_shows_validity_in_the_project_time_zone(owner_client, project):
    project.time_zone = "Europe/Warsaw"
    project.save(update_fields=["time_zone"])
    voucher = VoucherFactory(
        campaign__project=project,
        start_date=dt.datetime(2026, 1, 1, 10, 0, tzinfo=dt.UTC),
        expiration_date=dt.datetime(2026, 7, 1, 10, 0, tzinfo=dt.UTC),
        validity_day_of_week=[1, 2],
        validity_hours={
            "daily": [{"start_time": "09:00", "expiration_time": "17:00", "days_of_week": [1]}]
        },
    )

    html = owner_client.get(url("voucher_detail", voucher)).content.decode()

    assert "from 2026-01-01 11:00" in html  # CET
    assert "until 2026-07-01 12:00" in html  # CEST
    assert "On Mon, Tue" in html
    assert "At 09:00-17:00 Mon" in html


def test_detail_404s_for_unknown_and_other_projects_vouchers(owner_client):
    other = VoucherFactory(campaign__project=ProjectFactory())

    assert owner_client.get(url("voucher_detail", other)).status_code == 404
    missing = reverse("campaigns:voucher_detail", args=["v_missing"])
    assert owner_client.get(missing).status_code == 404


def test_detail_requires_login(client, project):
    voucher = VoucherFactory(campaign__project=project)

    response = client.get(url("voucher_detail", voucher))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_ledger_pages_come_as_a_partial_for_htmx(owner_client, project):
    card = gift_card(project)
    for i in range(25):
        services.card_adjust(voucher=card, amount=100, reason=f"top-up {i}")

    response = owner_client.get(url("voucher_detail", card), {"page": 2}, HTTP_HX_REQUEST="true")

    html = response.content.decode()
    assert "<html" not in html
    assert 'id="voucher-card"' in html
    assert "Opening balance" in html  # the oldest entry is on the second page
    assert "top-up 24" not in html


# balance adjustments ---------------------------------------------------------------------------


def test_adjust_adds_credits_and_the_ledger_sums_to_the_balance(member_client, project):
    client = member_client(Role.MARKETER)
    card = gift_card(project, amount=5000)

    response = client.post(url("voucher_adjust", card), {"amount": "12.50", "reason": "Goodwill"})

    assert response.status_code == 302
    card.refresh_from_db()
    assert card.gift_balance == 6250
    assert card.gift_amount == 6250
    assert ledger_sum(card) == card.gift_balance
    entry = card.transactions.order_by("-id").first()
    assert (entry.amount, entry.reason) == (1250, "Goodwill")
    assert entry.created_by == client.membership.user
    html = client.get(url("voucher_detail", card)).content.decode()
    assert "Goodwill" in html
    assert "Balance = sum of 2 entries" in html


def test_adjust_removes_credits_with_a_negative_amount(owner_client, project):
    card = gift_card(project, amount=5000)

    owner_client.post(url("voucher_adjust", card), {"amount": "-20", "reason": "Refund fix"})

    card.refresh_from_db()
    assert card.gift_balance == 3000
    assert card.gift_amount == 5000  # lifetime credits only grow
    assert ledger_sum(card) == 3000


def test_adjust_refuses_to_overdraw_with_a_message(owner_client, project):
    card = gift_card(project, amount=5000)

    response = owner_client.post(url("voucher_adjust", card), {"amount": "-60", "reason": "Oops"})

    assert response.status_code == 200
    html = response.content.decode()
    assert "The card holds $50.00; removing $60.00 would make its balance negative." in html
    assert 'value="-60"' in html  # the form keeps what was typed
    card.refresh_from_db()
    assert card.gift_balance == 5000
    assert card.transactions.count() == 1


def test_adjust_points_of_a_loyalty_card(owner_client, project):
    card = loyalty_card(project, points=100)

    owner_client.post(url("voucher_adjust", card), {"amount": "-40", "reason": "Expired"})
    response = owner_client.post(url("voucher_adjust", card), {"amount": "1.5", "reason": "x"})

    card.refresh_from_db()
    assert card.loyalty_balance == 60
    assert ledger_sum(card) == 60
    assert "Enter a whole number." in response.content.decode()


def test_adjust_needs_a_reason_and_a_non_zero_amount(owner_client, project):
    card = gift_card(project)

    response = owner_client.post(url("voucher_adjust", card), {"amount": "0", "reason": ""})

    html = response.content.decode()
    assert "Enter an amount other than zero." in html
    assert "This field is required." in html
    assert card.transactions.count() == 1


def test_adjust_with_htmx_returns_the_card_partial(owner_client, project):
    card = gift_card(project)

    response = owner_client.post(
        url("voucher_adjust", card), {"amount": "5", "reason": "Bonus"}, HTTP_HX_REQUEST="true"
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert 'data-testid="card-balance">$55.00<' in html
    assert "Bonus" in html


def test_viewer_cannot_adjust(member_client, project):
    card = gift_card(project)

    response = member_client(Role.VIEWER).post(
        url("voucher_adjust", card), {"amount": "10", "reason": "Hack"}
    )

    assert response.status_code == 403
    card.refresh_from_db()
    assert card.gift_balance == 5000


def test_discount_vouchers_have_no_balance_to_adjust(owner_client, project):
    voucher = VoucherFactory(campaign__project=project)

    response = owner_client.post(url("voucher_adjust", voucher), {"amount": "1", "reason": "x"})

    assert response.status_code == 404


# toggle, edit, delete --------------------------------------------------------------------------


def test_toggle_disables_and_enables(owner_client, project):
    voucher = VoucherFactory(campaign__project=project)

    owner_client.post(url("voucher_toggle", voucher))
    voucher.refresh_from_db()
    assert voucher.active is False
    owner_client.post(url("voucher_toggle", voucher))
    voucher.refresh_from_db()
    assert voucher.active is True


def test_viewer_cannot_toggle(member_client, project):
    voucher = VoucherFactory(campaign__project=project)

    assert member_client(Role.VIEWER).post(url("voucher_toggle", voucher)).status_code == 403
    voucher.refresh_from_db()
    assert voucher.active is True


def edit_data(**overrides):
    data = {
        "active": "on",
        "redemption_quantity": "",
        "category": "",
        "additional_info": "",
        "start_date": "",
        "expiration_date": "",
        "hours": "",
        "timeframe_interval": "",
        "timeframe_duration": "",
        "discount_type": "AMOUNT",
        "amount_off": "5.00",
        "effect": "",
        "metadata_other": "",
    }
    data.update(overrides)
    return data


def test_edit_form_shows_the_current_values(owner_client, project):
    voucher = VoucherFactory(campaign__project=project, redemption_quantity=4)

    html = owner_client.get(url("voucher_edit", voucher)).content.decode()

    assert 'name="redemption_quantity" value="4"' in html
    assert 'name="amount_off" value="5.00"' in html


def test_edit_changes_dates_quantity_discount_category_and_metadata(owner_client, project):
    # given a project in New York and a discount voucher
    project.time_zone = "America/New_York"
    project.save(update_fields=["time_zone"])
    voucher = VoucherFactory(campaign__project=project)
    category = CategoryFactory(project=project, name="Seasonal")

    # when the marketer edits it
    response = owner_client.post(
        url("voucher_edit", voucher),
        edit_data(
            active="",
            redemption_quantity="2",
            category=category.public_id,
            additional_info="Print on receipts",
            start_date="2026-03-01T09:00",
            expiration_date="2026-03-31T18:00",
            days=["1", "5"],
            hours="08:00-12:00 Mon",
            discount_type="PERCENT",
            percent_off="15",
            amount_limit="20",
            metadata_other='{"channel": "print"}',
        ),
    )

    # then the voucher holds it, with dates read in the project's zone
    assert response.status_code == 302
    voucher.refresh_from_db()
    assert voucher.active is False
    assert voucher.redemption_quantity == 2
    assert voucher.category == category
    assert voucher.additional_info == "Print on receipts"
    assert voucher.start_date == dt.datetime(2026, 3, 1, 14, 0, tzinfo=dt.UTC)
    assert voucher.expiration_date == dt.datetime(2026, 3, 31, 22, 0, tzinfo=dt.UTC)
    assert voucher.validity_day_of_week == [1, 5]
    assert voucher.validity_hours == {
        "daily": [{"start_time": "08:00", "expiration_time": "12:00", "days_of_week": [1]}]
    }
    assert voucher.discount == {
        "type": "PERCENT",
        "percent_off": 15,
        "amount_limit": 2000,
        "effect": "APPLY_TO_ORDER",
    }
    assert voucher.metadata == {"channel": "print"}


def test_edit_shows_errors_and_saves_nothing(owner_client, project):
    voucher = VoucherFactory(campaign__project=project)

    response = owner_client.post(
        url("voucher_edit", voucher),
        edit_data(
            start_date="2026-03-10T09:00",
            expiration_date="2026-03-01T09:00",
            discount_type="PERCENT",
            percent_off="",
            hours="9 to 5",
        ),
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert "expiration_date must be after start_date." in html
    assert "discount.percent_off must be a number above 0 and at most 100." in html
    assert "Line 1: write 09:00-17:00" in html
    voucher.refresh_from_db()
    assert voucher.start_date is None
    assert voucher.discount["type"] == "AMOUNT"


def test_edit_of_a_gift_card_has_no_discount(owner_client, project):
    card = gift_card(project)

    html = owner_client.get(url("voucher_edit", card)).content.decode()
    response = owner_client.post(url("voucher_edit", card), edit_data(redemption_quantity="1"))

    assert 'name="amount_off"' not in html
    assert response.status_code == 302
    card.refresh_from_db()
    assert (card.redemption_quantity, card.discount, card.gift_balance) == (1, None, 5000)


def test_delete_asks_then_deletes(owner_client, project):
    voucher = VoucherFactory(campaign__project=project, code="BYE", campaign__vouchers_count=1)

    confirm = owner_client.get(url("voucher_delete", voucher))
    response = owner_client.post(url("voucher_delete", voucher))

    assert "Delete voucher" in confirm.content.decode()
    assert response.status_code == 302
    assert response["Location"] == reverse("campaigns:detail", args=[voucher.campaign.public_id])
    assert not Voucher.objects.filter(pk=voucher.pk).exists()
    voucher.campaign.refresh_from_db()
    assert voucher.campaign.vouchers_count == 0  # the campaign counts one code fewer


def test_delete_of_a_standalone_voucher_returns_to_campaigns(owner_client, project):
    card = gift_card(project)

    response = owner_client.post(url("voucher_delete", card))

    assert response["Location"] == reverse("campaigns:list")
    assert not Voucher.objects.filter(pk=card.pk).exists()
    assert not VoucherTransaction.objects.filter(voucher_id=card.pk).exists()


def test_viewer_cannot_delete(member_client, project):
    voucher = VoucherFactory(campaign__project=project)

    assert member_client(Role.VIEWER).post(url("voucher_delete", voucher)).status_code == 403
    assert Voucher.objects.filter(pk=voucher.pk).exists()


# standalone create -----------------------------------------------------------------------------

CREATE = reverse("campaigns:voucher_create")


def create_data(**overrides):
    data = {
        "campaign": "",
        "code": "",
        "type": "DISCOUNT_VOUCHER",
        "code_length": "8",
        "code_charset": "alphanumeric_upper",
        "code_prefix": "",
        "code_postfix": "",
        "discount_type": "AMOUNT",
        "amount_off": "",
        "effect": "",
        "gift_amount": "",
        "gift_effect": "APPLY_TO_ORDER",
        "loyalty_points": "0",
        "redemption_quantity": "",
        "active": "on",
        "start_date": "",
        "expiration_date": "",
        "hours": "",
        "timeframe_interval": "",
        "timeframe_duration": "",
        "category": "",
        "additional_info": "",
        "metadata_other": "",
    }
    data.update(overrides)
    return data


def test_create_a_standalone_discount_voucher(owner_client, project):
    response = owner_client.post(
        CREATE,
        create_data(code="WELCOME10", amount_off="10", redemption_quantity="1"),
    )

    voucher = Voucher.objects.get(project=project, code="WELCOME10")
    assert response["Location"] == url("voucher_detail", voucher)
    assert voucher.campaign is None
    assert voucher.type == VoucherType.DISCOUNT_VOUCHER
    assert voucher.discount == {"type": "AMOUNT", "amount_off": 1000, "effect": "APPLY_TO_ORDER"}
    assert voucher.redemption_quantity == 1


def test_create_a_gift_card_with_its_opening_balance(owner_client, project):
    owner_client.post(
        CREATE, create_data(type="GIFT_VOUCHER", code="GIFT-100", gift_amount="100.00")
    )

    card = Voucher.objects.get(project=project, code="GIFT-100")
    assert card.type == VoucherType.GIFT_VOUCHER
    assert (card.gift_amount, card.gift_balance) == (10000, 10000)
    assert ledger_sum(card) == 10000


def test_create_a_loyalty_card(owner_client, project):
    owner_client.post(CREATE, create_data(type="LOYALTY_CARD", code="LC-1", loyalty_points="250"))

    card = Voucher.objects.get(project=project, code="LC-1")
    assert (card.type, card.loyalty_balance) == (VoucherType.LOYALTY_CARD, 250)


def test_create_generates_a_code_from_the_code_config(owner_client, project):
    owner_client.post(
        CREATE,
        create_data(amount_off="5", code_length="6", code_charset="numbers", code_prefix="XMAS-"),
    )

    voucher = Voucher.objects.get(project=project)
    assert voucher.code.startswith("XMAS-")
    assert len(voucher.code) == 11
    assert voucher.code[5:].isdigit()


def test_create_shows_field_errors(owner_client, project):
    response = owner_client.post(CREATE, create_data(type="GIFT_VOUCHER", code_charset="nope"))

    html = response.content.decode()
    assert response.status_code == 200
    assert "Enter the gift card&#x27;s value." in html
    assert "Select a valid choice." in html
    assert not Voucher.objects.filter(project=project).exists()


def test_create_refuses_a_duplicate_code(owner_client, project):
    VoucherFactory(campaign__project=project, code="SUMMER", code_key="SUMMER")

    exact = owner_client.post(CREATE, create_data(code="SUMMER", amount_off="5"))
    other_case = owner_client.post(CREATE, create_data(code="summer", amount_off="5"))

    assert "A voucher with code SUMMER exists." in exact.content.decode()
    assert "A voucher with code summer exists." in other_case.content.decode()
    assert Voucher.objects.filter(project=project).count() == 1


def test_create_in_a_campaign_asks_only_the_code(owner_client, project):
    campaign = CampaignFactory(project=project, name="Spring")

    form = owner_client.get(CREATE, {"campaign": campaign.public_id})
    response = owner_client.post(
        CREATE, {"campaign": campaign.public_id, "code": "SPRING-VIP", "amount_off": "99"}
    )

    assert 'type="radio" name="type"' in owner_client.get(CREATE).content.decode()  # asked
    assert 'type="radio" name="type"' not in form.content.decode()  # in a campaign: not
    assert response.status_code == 302
    voucher = Voucher.objects.get(project=project, code="SPRING-VIP")
    assert voucher.campaign == campaign
    assert voucher.discount == campaign.discount  # the campaign's template, not the form's


def test_create_campaign_switch_returns_the_form_partial_for_htmx(owner_client, project):
    campaign = CampaignFactory(project=project)

    response = owner_client.get(CREATE, {"campaign": campaign.public_id}, HTTP_HX_REQUEST="true")

    html = response.content.decode()
    assert "<html" not in html
    assert 'id="voucher-form"' in html


def test_create_refuses_another_projects_campaign(owner_client, project):
    foreign = CampaignFactory(project=ProjectFactory())

    response = owner_client.post(CREATE, {"campaign": foreign.public_id, "code": "X1"})

    assert "Select a valid choice." in response.content.decode()
    assert not Voucher.objects.filter(code="X1").exists()


# publishing ------------------------------------------------------------------------------------


def test_publish_a_voucher_to_a_customer_by_source_id(owner_client, project):
    voucher = VoucherFactory(campaign__project=project)
    customer = CustomerFactory(project=project, source_id="crm-7")

    response = owner_client.post(url("voucher_publish", voucher), {"customer": "crm-7"})

    assert response.status_code == 302
    voucher.refresh_from_db()
    assert voucher.holder == customer
    assert voucher.published_at is not None
    publication = Publication.objects.get(project=project)
    assert publication.channel == PublicationChannel.DASHBOARD
    assert list(publication.vouchers.all()) == [voucher]


def test_publish_a_voucher_to_a_customer_by_id(owner_client, project):
    voucher = VoucherFactory(campaign__project=project)
    customer = CustomerFactory(project=project)

    owner_client.post(url("voucher_publish", voucher), {"customer": customer.public_id})

    voucher.refresh_from_db()
    assert voucher.holder == customer


def test_publish_a_voucher_held_by_someone_else_shows_a_message(owner_client, project):
    voucher = VoucherFactory(campaign__project=project, code="TAKEN")
    first = CustomerFactory(project=project, source_id="first")
    CustomerFactory(project=project, source_id="second")
    owner_client.post(url("voucher_publish", voucher), {"customer": "first"})

    response = owner_client.post(url("voucher_publish", voucher), {"customer": "second"})

    assert response.status_code == 200
    assert "Voucher TAKEN is already published to another customer." in response.content.decode()
    voucher.refresh_from_db()
    assert voucher.holder == first
    assert Publication.objects.filter(project=project).count() == 1


def publish_url(campaign):
    return reverse("campaigns:publish", args=[campaign.public_id])


def test_publish_campaign_codes_to_one_customer(owner_client, project):
    campaign = CampaignFactory(project=project, type=CampaignMode.AUTO_UPDATE)
    customer = CustomerFactory(project=project, source_id="buyer")

    response = owner_client.post(
        publish_url(campaign), {"action": "customer", "one-customer": "buyer", "one-count": "2"}
    )

    assert response.status_code == 302
    assert Voucher.objects.filter(campaign=campaign, holder=customer).count() == 2
    page = owner_client.get(publish_url(campaign)).content.decode()
    assert "Published" in page


def test_publish_campaign_shows_service_errors(owner_client, project):
    campaign = CampaignFactory(project=project, type=CampaignMode.STATIC)  # no codes at all

    response = owner_client.post(
        publish_url(campaign), {"action": "customer", "one-customer": "buyer", "one-count": "1"}
    )

    assert response.status_code == 200
    assert "has no free code left to publish" in response.content.decode()


def test_publish_to_a_segment_gives_every_member_one_code(
    owner_client, project, django_capture_on_commit_callbacks
):
    # given a join-once auto-update campaign and a segment of three customers
    campaign = CampaignFactory(project=project, type=CampaignMode.AUTO_UPDATE, join_once=True)
    members = SegmentMemberFactory.create_batch(3, segment__project=project)
    segment = members[0].segment
    for member in members[1:]:
        member.segment = segment
        member.save()
    outsider = CustomerFactory(project=project)

    # when publishing to the segment (the job runs eagerly on commit)
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(
            publish_url(campaign), {"action": "segment", "seg-segment": segment.public_id}
        )

    # then every member holds exactly one code, and the page follows the job
    job = Job.objects.get(project=project)
    assert response["Location"] == f"{publish_url(campaign)}?job={job.public_id}"
    for member in members:
        assert Voucher.objects.filter(campaign=campaign, holder=member.customer).count() == 1
    assert not Voucher.objects.filter(holder=outsider).exists()
    job.refresh_from_db()
    assert job.result == {"published": 3, "skipped": 0, "customers": 3}
    progress = owner_client.get(response["Location"], HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in progress
    assert "3 codes published" in progress

    # and running it again hands out nothing new
    services.publish_segment(job_id=job.pk)  # the same job: already done
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(
            publish_url(campaign), {"action": "segment", "seg-segment": segment.public_id}
        )
    assert Voucher.objects.filter(campaign=campaign, holder__isnull=False).count() == 3


def test_promotions_have_nothing_to_publish(owner_client, project):
    promotion = PromotionFactory(project=project)
    CustomerFactory(project=project, source_id="buyer")

    page = owner_client.get(publish_url(promotion))
    response = owner_client.post(
        publish_url(promotion),
        {"action": "customer", "one-customer": "buyer", "one-count": "1"},
        follow=True,
    )

    assert "they have no codes to publish" in page.content.decode()
    assert "they have no codes." in response.content.decode()
    assert not Publication.objects.exists()


def test_publish_job_of_another_campaign_404s(owner_client, project):
    campaign = CampaignFactory(project=project)
    other = CampaignFactory(project=project)
    job = Job.objects.create(
        project=project, type="campaign.publish_segment", params={"campaign": other.public_id}
    )

    response = owner_client.get(publish_url(campaign), {"job": job.public_id})

    assert response.status_code == 404


def test_viewer_cannot_publish(member_client, project):
    campaign = CampaignFactory(project=project, type=CampaignMode.AUTO_UPDATE)
    voucher = VoucherFactory(campaign=campaign)
    client = member_client(Role.VIEWER)

    one = client.post(publish_url(campaign), {"action": "customer", "one-customer": "x"})
    single = client.post(url("voucher_publish", voucher), {"customer": "x"})

    assert (one.status_code, single.status_code) == (403, 403)
    assert not Publication.objects.exists()


# publications list -----------------------------------------------------------------------------

PUBLICATIONS = reverse("campaigns:publications")


def published(project, campaign=None, code=None, **customer):
    campaign = campaign or CampaignFactory(project=project)
    voucher = VoucherFactory(campaign=campaign, **({"code": code} if code else {}))
    publication = PublicationFactory(customer=CustomerFactory(project=project, **customer))
    publication.campaign = campaign
    publication.save()
    publication.vouchers.add(voucher)
    return publication


def test_publications_list_shows_only_this_project(owner_client, project):
    mine = published(project, name="Mine Customer", code="MINE-1")
    published(ProjectFactory(), name="Their Customer", code="THEIRS-1")

    html = owner_client.get(PUBLICATIONS).content.decode()

    assert "Mine Customer" in html
    assert "MINE-1" in html
    assert mine.campaign.name in html
    assert "Their Customer" not in html
    assert "THEIRS-1" not in html


def test_publications_list_filters(owner_client, project):
    spring = CampaignFactory(project=project, name="Spring")
    published(project, campaign=spring, name="Alice", source_id="alice-1", code="AAA")
    published(project, name="Bob", source_id="bob-1", code="BBB")

    by_campaign = owner_client.get(PUBLICATIONS, {"campaign": spring.public_id}).content.decode()
    by_customer = owner_client.get(PUBLICATIONS, {"q": "bob-1"}).content.decode()
    by_code = owner_client.get(PUBLICATIONS, {"code": "bbb"}).content.decode()

    assert "Alice" in by_campaign and "Bob" not in by_campaign
    assert "Bob" in by_customer and "Alice" not in by_customer
    assert "Bob" in by_code and "Alice" not in by_code


def test_publications_list_refuses_another_projects_campaign_filter(owner_client, project):
    published(project, name="Alice")
    foreign = CampaignFactory(project=ProjectFactory())

    html = owner_client.get(PUBLICATIONS, {"campaign": foreign.public_id}).content.decode()

    assert "Alice" not in html
    assert "Select a valid choice" in html


def test_publications_list_partial_for_htmx_and_no_n_plus_one(
    owner_client, project, django_assert_max_num_queries
):
    for i in range(5):
        published(project, name=f"Customer {i}")

    with django_assert_max_num_queries(12):
        response = owner_client.get(PUBLICATIONS, HTTP_HX_REQUEST="true")

    html = response.content.decode()
    assert "<html" not in html
    assert 'id="publication-results"' in html
    assert html.count('id="publication-pub_') == 5


@pytest.mark.parametrize("name", ["voucher_create", "publications"])
def test_pages_without_ids_work_for_viewers(member_client, name):
    assert member_client(Role.VIEWER).get(reverse(f"campaigns:{name}")).status_code == 200
