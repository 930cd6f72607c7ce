import re

import pytest
from playwright.sync_api import Page, expect

from apps.customers.models import Customer
from apps.demo.data import seed_project_data
from apps.jobs.models import Job, JobStatus
from apps.jobs.services import job_create
from apps.projects.models import Role
from apps.segments.models import Segment
from apps.segments.services import segment_recompute
from tests.projects.factories import MembershipFactory, ProjectFactory


@pytest.fixture
def shop(transactional_db):
    """A project with the demo data, segments included (computed by the seed)."""
    project = ProjectFactory(name="Demo Shop", currency="USD")
    seed_project_data(project)
    return project


def test_paste_ids_into_a_static_segment_and_remove_one(page: Page, log_in, shop):
    marketer = MembershipFactory(project=shop, role=Role.MARKETER).user
    vip = Segment.objects.get(project=shop, name="VIP list")
    newcomer = Customer.objects.get(project=shop, source_id="demo-cust-0100")

    log_in(marketer)
    page.goto("/segments/")
    page.get_by_role("link", name="VIP list").click()
    expect(page.get_by_role("heading", name=re.compile("VIP list"), level=1)).to_be_visible()
    rows = page.get_by_test_id("member-row")
    expect(rows).to_have_count(8)
    expect(page.get_by_test_id("segment-size")).to_have_text("8")
    page.evaluate("window.__noFullReload = true")

    # paste two ids, one of them unknown
    page.get_by_label("Source IDs or customer IDs").fill(f"{newcomer.public_id}\nno-such-customer")
    page.get_by_role("button", name="Add to segment").click()

    expect(page.get_by_test_id("add-result")).to_have_text("Added 1. Not found: no-such-customer.")
    expect(rows).to_have_count(9)
    expect(page.locator(f"#member-{newcomer.public_id}-row")).to_contain_text("demo-cust-0100")
    expect(page.get_by_test_id("segment-size")).to_have_text("9")
    expect(page.get_by_label("Source IDs or customer IDs")).to_have_value("")
    assert page.evaluate("window.__noFullReload === true")  # all of it without a reload

    # search the members, then remove the newcomer
    page.get_by_label("Search members").fill("demo-cust-0100")
    expect(rows).to_have_count(1)
    expect(page).to_have_url(re.compile(r"\?q=demo-cust-0100$"))
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_label(f"Select {newcomer.name}").check()
    page.get_by_role("button", name="Remove selected").click()
    expect(page.locator("#messages")).to_contain_text("Removed 1 member from “VIP list”.")
    expect(page.get_by_test_id("members-empty")).to_contain_text("No member matches")
    expect(page.get_by_test_id("segment-size")).to_have_text("8")
    assert not vip.members.filter(customer=newcomer).exists()


def test_recompute_an_auto_update_segment(page: Page, log_in, shop):
    marketer = MembershipFactory(project=shop, role=Role.MARKETER).user
    berlin = Segment.objects.get(project=shop, name="Berlin customers")
    size = berlin.size
    assert size > 0
    # a customer moves to Berlin behind the segment's back
    # the newest customer, so the first page of members (newest first) shows them
    mover = (
        Customer.objects.filter(project=shop).exclude(address_city="Berlin").order_by("pk").last()
    )
    Customer.objects.filter(pk=mover.pk).update(address_city="Berlin")

    log_in(marketer)
    page.goto(f"/segments/{berlin.public_id}/")
    expect(page.get_by_test_id("filter-words")).to_have_text("City is “Berlin”")
    expect(page.get_by_test_id("segment-size")).to_have_text(str(size))
    expect(page.get_by_test_id("size-chart-text")).to_contain_text(f"size {size} on ")

    page.get_by_role("button", name="Recompute").click()

    job_box = page.get_by_test_id("recompute-job")
    expect(job_box.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "100")
    expect(job_box.locator("[data-status]")).to_have_text("Done")
    expect(job_box).to_contain_text("Done: 1 entered, 0 left.")
    expect(page.get_by_test_id("segment-size")).to_have_text(str(size + 1))
    # the member list and the events reloaded with the newcomer
    expect(page.locator(f"#member-{mover.public_id}-row")).to_be_visible()
    expect(page.get_by_test_id("segment-events").locator("li").first).to_contain_text(
        f"{mover.name} entered"
    )
    job = Job.objects.get(type="segment.recompute", created_by=marketer)
    assert job.status == JobStatus.DONE
    assert job.params == {"segment": berlin.public_id}


def test_a_running_recompute_is_polled_until_it_is_done(page: Page, log_in, shop):
    viewer = MembershipFactory(project=shop, role=Role.VIEWER).user
    berlin = Segment.objects.get(project=shop, name="Berlin customers")
    size = berlin.size
    # the newest customer, so the first page of members (newest first) shows them
    mover = (
        Customer.objects.filter(project=shop).exclude(address_city="Berlin").order_by("pk").last()
    )
    Customer.objects.filter(pk=mover.pk).update(address_city="Berlin")
    # given a recompute queued for a worker that has not picked it up yet
    job = job_create(project=shop, type="segment.recompute", params={"segment": berlin.public_id})

    log_in(viewer)
    page.goto(f"/segments/{berlin.public_id}/")
    job_box = page.get_by_test_id("recompute-job")
    expect(job_box.locator("[data-status]")).to_have_text("Enqueued")
    expect(page.get_by_role("button", name="Recompute")).to_have_count(0)  # a viewer
    expect(page.locator(f"#member-{mover.public_id}-row")).to_have_count(0)

    # when the worker runs it, the page follows without a reload
    segment_recompute(segment_id=berlin.pk, job_id=job.pk)

    expect(job_box.locator("[data-status]")).to_have_text("Done")
    expect(job_box).to_contain_text("Done: 1 entered, 0 left.")
    expect(page.get_by_test_id("segment-size")).to_have_text(str(size + 1))
    expect(page.locator(f"#member-{mover.public_id}-row")).to_be_visible()
