import re

import pytest
from playwright.sync_api import Page, expect

from apps.campaigns.models import Voucher
from apps.campaigns.services.generation import generate_codes
from apps.distributions.models import Distribution, Status
from apps.projects.models import Role
from tests.browser.htmx import settle
from tests.campaigns.factories import CampaignFactory
from tests.customers.factories import CustomerFactory
from tests.distributions.smtp_sink import SmtpSink
from tests.projects.factories import MembershipFactory, ProjectFactory
from tests.segments.factories import SegmentFactory, SegmentMemberFactory


@pytest.fixture
def sink(settings):
    sink = SmtpSink().start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", sink.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    yield sink
    sink.stop()


@pytest.fixture
def shop(transactional_db):
    project = ProjectFactory(name="Browser Shop")
    campaign = CampaignFactory(project=project, name="Summer codes")
    generate_codes(campaign, 10)
    vip = SegmentFactory(project=project, name="VIP")
    for i in range(3):
        SegmentMemberFactory(
            segment=vip, customer=CustomerFactory(project=project, name=f"Vip {i}")
        )
    SegmentMemberFactory(segment=vip, customer=CustomerFactory(project=project, email=""))
    vip.size = 4
    vip.save(update_fields=["size"])
    return project


def test_a_marketer_previews_tests_and_sends_a_manual_distribution(page: Page, log_in, shop, sink):
    marketer = MembershipFactory(project=shop, role=Role.MARKETER).user
    vip = shop.segments_segment_set.get(name="VIP")
    log_in(marketer)
    page.get_by_role("link", name="Distributions").click()
    page.get_by_role("link", name="New distribution").click()
    expect(page.get_by_role("heading", name="New distribution")).to_be_visible()

    page.get_by_label("Name").fill("VIP summer mail")
    page.get_by_label("Segment").select_option(vip.public_id)
    expect(page.get_by_test_id("segment-size")).to_contain_text("4 customers in “VIP”")
    expect(page.get_by_test_id("reachable")).to_have_text("3")
    page.get_by_label("Codes from campaign").select_option(label="Summer codes")
    # the preview follows the template as it is typed
    page.get_by_label("Subject").fill("A gift for {{ customer.name }}: {{ voucher.discount }}")
    page.get_by_label("Show it as customer").fill(vip.members.first().customer.source_id)
    expect(page.get_by_test_id("preview-subject")).to_have_text(
        re.compile(r"^A gift for Vip \d: 10% off$")
    )
    expect(page.get_by_test_id("preview-text")).to_contain_text("Your code: SAMPLE-CODE")
    # a syntax error shows in the preview, not as a crash
    page.get_by_label("Subject").fill("Broken {% if %}")
    expect(page.get_by_test_id("template-error")).to_contain_text("Subject:")
    page.get_by_label("Subject").fill("A gift for {{ customer.name }}")

    page.get_by_role("button", name=re.compile("Send a test to")).click()
    expect(page.get_by_test_id("test-sent")).to_have_text(f"Test sent to {marketer.email}.")
    [test_message] = sink.messages
    assert test_message.recipients == [marketer.email]
    assert "SAMPLE-CODE" in test_message.text
    assert not Voucher.objects.filter(holder__isnull=False).exists()

    settle(page)
    page.get_by_role("button", name="Create distribution").click()
    expect(page.get_by_role("heading", name=re.compile("VIP summer mail"))).to_be_visible()
    expect(page.get_by_test_id("distribution-status")).to_have_text("Draft")

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Send now").click()
    expect(page.get_by_test_id("distribution-status")).to_have_text("Sent")
    expect(page.get_by_test_id("count-sent")).to_have_text("3")
    expect(page.get_by_test_id("count-skipped")).to_have_text("1")
    expect(page.get_by_test_id("count-failed")).to_have_text("0")
    expect(page.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "100")
    expect(page.get_by_test_id("delivery-row")).to_have_count(4)
    sent = [m for m in sink.messages if m.recipients != [marketer.email]]
    assert len(sent) == 3
    assert Voucher.objects.filter(holder__isnull=False).count() == 3

    # the log filters by status
    page.get_by_label("Status").select_option("SKIPPED")
    expect(page.get_by_test_id("delivery-row")).to_have_count(1)
    expect(page.get_by_test_id("delivery-row")).to_contain_text("no email address")
    expect(page).to_have_url(re.compile(r"status=SKIPPED"))


def test_a_marketer_sets_up_an_automatic_distribution_on_segment_entry(page: Page, log_in, shop):
    marketer = MembershipFactory(project=shop, role=Role.MARKETER).user
    vip = shop.segments_segment_set.get(name="VIP")
    log_in(marketer)
    page.goto("/distributions/new/")
    page.get_by_label("Name").fill("Welcome to VIP")
    page.get_by_label("Type").select_option("AUTOMATIC")
    settle(page)
    expect(page.get_by_label("Send to")).to_have_count(0)
    page.get_by_label("Send when").select_option("customer.segment.entered")
    settle(page)
    page.get_by_label("Segment").select_option(vip.public_id)
    page.get_by_label("Delay (minutes)").fill("10")
    page.get_by_label("Channel").select_option("sms")
    settle(page)
    expect(page.get_by_label("Subject")).to_have_count(0)
    expect(page.get_by_label("Name")).to_have_value("Welcome to VIP")  # kept across re-renders
    page.get_by_label("Text").fill("Welcome {{ customer.name }}! Code {{ voucher.code }}")
    page.get_by_label("Codes from campaign").select_option(label="Summer codes")
    expect(page.get_by_test_id("preview-text")).to_contain_text(
        "Welcome Sam Sample! Code SAMPLE-CODE"
    )
    page.get_by_role("button", name="Create distribution").click()

    expect(page.get_by_test_id("distribution-status")).to_have_text("Active")
    expect(page.get_by_text("customer enters a segment “VIP”, 10 minutes later")).to_be_visible()
    distribution = Distribution.objects.get(project=shop)
    assert (distribution.trigger, distribution.segment, distribution.channel) == (
        "customer.segment.entered",
        vip,
        "sms",
    )
    page.get_by_role("button", name="Pause").click()
    expect(page.get_by_test_id("distribution-status")).to_have_text("Paused")
    distribution.refresh_from_db()
    assert distribution.status == Status.PAUSED


def test_an_automatic_distribution_on_order_paid_mails_a_code_when_the_order_is_paid(
    page: Page, log_in, shop, sink
):
    from apps.orders.services import order_upsert

    marketer = MembershipFactory(project=shop, role=Role.MARKETER).user
    buyer = CustomerFactory(project=shop, name="Paula Payer", email="paula@example.com")
    order, _ = order_upsert(
        project=shop,
        payload={"source_id": "ord-77", "amount": 4200, "status": "CREATED"},
        customer=buyer,
    )
    log_in(marketer)
    page.goto("/distributions/new/")
    page.get_by_label("Name").fill("Thank you for paying")
    page.get_by_label("Type").select_option("AUTOMATIC")
    settle(page)
    page.get_by_label("Send when").select_option("order.paid")
    settle(page)
    page.get_by_label("Codes from campaign").select_option(label="Summer codes")
    page.get_by_label("Subject").fill("Thanks, {{ customer.name }}")
    page.get_by_role("button", name="Create distribution").click()
    expect(page.get_by_test_id("distribution-status")).to_have_text("Active")

    # the marketer marks the order paid on its page: the trigger fires after the commit
    page.goto(f"/orders/{order.public_id}/")
    page.get_by_label("New status").select_option("PAID")
    page.locator("#order-status").get_by_role("button", name="Change status").click()
    expect(page.locator("#order-status .card-header .badge")).to_have_text("Paid")

    held = Voucher.objects.get(holder=buyer)
    [message] = [m for m in sink.messages if m.recipients == ["paula@example.com"]]
    assert "Thanks, Paula Payer" in message.subject
    assert held.code in message.text


def test_an_automatic_distribution_on_segment_entry_mails_a_customer_who_moves_in(
    page: Page, log_in, shop, sink
):
    from apps.segments.services import segment_create

    marketer = MembershipFactory(project=shop, role=Role.MARKETER).user
    berlin = segment_create(
        project=shop,
        name="Berliners",
        type="auto-update",
        filter={"junction": "and", "address.city": {"conditions": {"$is": "Berlin"}}},
    )
    mover = CustomerFactory(
        project=shop, name="Moritz Mover", email="moritz@example.com", address_city="Hamburg"
    )
    log_in(marketer)
    page.goto("/distributions/new/")
    page.get_by_label("Name").fill("Welcome to Berlin")
    page.get_by_label("Type").select_option("AUTOMATIC")
    settle(page)
    page.get_by_label("Send when").select_option("customer.segment.entered")
    settle(page)
    page.get_by_label("Segment").select_option(berlin.public_id)
    page.get_by_label("Codes from campaign").select_option(label="Summer codes")
    page.get_by_label("Subject").fill("Willkommen, {{ customer.name }}")
    page.get_by_role("button", name="Create distribution").click()
    expect(page.get_by_test_id("distribution-status")).to_have_text("Active")

    # the customer moves to Berlin (edited in the dashboard): the segment takes them in after
    # the commit, and the entry event sends the message
    page.goto(f"/customers/{mover.public_id}/")
    page.get_by_role("link", name="Edit").click()
    page.get_by_label("City").fill("Berlin")
    page.get_by_role("button", name="Save customer").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Moritz Mover")

    held = Voucher.objects.get(holder=mover)
    [message] = [m for m in sink.messages if m.recipients == ["moritz@example.com"]]
    assert "Willkommen, Moritz Mover" in message.subject
    assert held.code in message.text
