from playwright.sync_api import Page, expect

from apps.campaigns import services
from apps.projects.models import Role
from tests.campaigns.factories import VoucherFactory
from tests.customers.factories import CustomerFactory
from tests.projects.factories import MembershipFactory, ProjectFactory


def test_open_a_voucher_see_its_qr_and_publish_it(page: Page, log_in, transactional_db):
    project = ProjectFactory(name="Alpha Shop")
    user = MembershipFactory(project=project, role=Role.MARKETER).user
    voucher = VoucherFactory(campaign__project=project, code="SPRING-42")
    CustomerFactory(project=project, name="Clara Buyer", source_id="crm-clara")

    log_in(user)
    page.goto(f"/campaigns/vouchers/{voucher.public_id}/")
    expect(page.get_by_test_id("voucher-code")).to_have_text("SPRING-42")

    # the QR code and the barcode really load as images
    for test_id in ("voucher-qr", "voucher-barcode"):
        image = page.get_by_test_id(test_id)
        expect(image).to_be_visible()
        page.wait_for_function(
            "el => el.complete && el.naturalWidth > 0", arg=image.element_handle()
        )

    page.get_by_label("Publish to customer").fill("crm-clara")
    page.get_by_role("button", name="Publish", exact=True).click()

    expect(page.get_by_test_id("voucher-holder")).to_contain_text("Clara Buyer")
    expect(page.get_by_test_id("voucher-publications")).to_contain_text("Dashboard")


def test_adjust_a_gift_card_and_see_the_ledger_row(page: Page, log_in, transactional_db):
    project = ProjectFactory(name="Alpha Shop")
    user = MembershipFactory(project=project, role=Role.MARKETER).user
    card = services.voucher_create(
        project=project, payload={"type": "GIFT_VOUCHER", "gift": {"amount": 5000}}, code="GIFT-7"
    )

    log_in(user)
    page.goto(f"/campaigns/vouchers/{card.public_id}/")
    expect(page.get_by_test_id("card-balance")).to_have_text("$50.00")
    page.evaluate("window.__noFullReload = true")

    page.get_by_label("Amount (USD)").fill("-12.50")
    page.get_by_label("Reason").fill("Damaged item refund fix")
    page.get_by_role("button", name="Adjust balance").click()

    ledger = page.get_by_test_id("ledger")
    expect(ledger.locator("tbody tr").first).to_contain_text("Damaged item refund fix")
    expect(ledger.locator("tbody tr").first).to_contain_text("-$12.50")
    expect(page.get_by_test_id("card-balance")).to_have_text("$37.50")
    expect(page.get_by_test_id("ledger-check")).to_contain_text("Balance = sum of 2 entries")
    assert page.evaluate("window.__noFullReload === true")  # swapped by htmx

    # removing more than the card holds is refused, with the reason on the field
    page.get_by_label("Amount (USD)").fill("-100")
    page.get_by_label("Reason").fill("Too much")
    page.get_by_role("button", name="Adjust balance").click()
    expect(page.get_by_test_id("adjust-error")).to_contain_text("The card holds $37.50")
    expect(page.get_by_test_id("card-balance")).to_have_text("$37.50")
