"""Settings → Webhooks in the browser: add a webhook, send a test event to a real receiver, read
the delivery log, rotate the secret and switch the webhook off."""

import json

import pytest
from playwright.sync_api import Page, expect

from apps.projects.models import Role
from apps.webhooks import signing
from apps.webhooks.models import Webhook
from tests.projects.factories import MembershipFactory, ProjectFactory
from tests.webhooks.receiver import Receiver


@pytest.fixture
def receiver():
    receiver = Receiver().start()
    yield receiver
    receiver.stop()


def test_an_admin_adds_a_webhook_and_sees_its_test_event_delivered(
    page: Page, log_in, transactional_db, receiver
):
    project = ProjectFactory(name="Hooked shop")
    admin = MembershipFactory(project=project, role=Role.ADMIN).user
    log_in(admin)
    page.goto("/settings/")
    page.get_by_role("link", name="Webhooks").click()
    page.get_by_label("Endpoint URL").fill(receiver.url)
    page.get_by_label("order.paid").check()
    page.get_by_role("button", name="Add webhook").click()

    webhook = Webhook.objects.get(project=project)
    assert webhook.events == ["order.paid"]
    expect(page.locator("#webhook-secret")).to_have_text(webhook.secret)
    page.get_by_role("button", name="Send test event").click()
    expect(page.locator("#delivery-results")).to_contain_text("Delivered")
    expect(page.locator("#delivery-results")).to_contain_text("HTTP 200")
    [received] = receiver.requests
    header = received.headers["X-Signature"]
    stamp = int(header.split(",")[0].removeprefix("t="))
    assert signing.verify(header, received.body, webhook.secret, now=stamp)
    assert json.loads(received.body)["type"] == "webhook.test"

    page.get_by_role("button", name="Rotate secret").click()
    expect(page.locator("#webhook-secret")).not_to_have_text(webhook.secret)
    expect(page.get_by_text("The previous secret also signs until")).to_be_visible()
    page.get_by_role("button", name="Switch off").click()
    expect(page.get_by_text("This webhook is off.")).to_be_visible()
    webhook.refresh_from_db()
    assert webhook.active is False and webhook.previous_secret
