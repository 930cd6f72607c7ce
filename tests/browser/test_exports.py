import csv
import io
import re

import pytest
from playwright.sync_api import Page, expect

from apps.jobs.models import Job, JobStatus
from apps.projects.models import Role
from tests.customers.factories import CustomerFactory
from tests.projects.factories import MembershipFactory, ProjectFactory


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Export files go to a temporary MEDIA_ROOT, never var/media."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


@pytest.fixture
def shop(transactional_db):
    """ "Alpha Shop" with two customers in Poland (one named like a spreadsheet formula) and one
    in France, and a Polish customer of another project."""
    project = ProjectFactory(name="Alpha Shop", currency="USD")
    CustomerFactory(
        project=project, name="Alice Warsaw", source_id="alice", address_country="Poland"
    )
    CustomerFactory(
        project=project,
        name='=HYPERLINK("x")',
        source_id="formula",
        address_country="Poland",
        description="-1+2",
    )
    CustomerFactory(
        project=project, name="Bruno Paris", source_id="bruno", address_country="France"
    )
    CustomerFactory(name="Other Project", source_id="other", address_country="Poland")
    return project


def test_export_filtered_customers_and_download_the_csv(page: Page, log_in, shop, live_server):
    marketer = MembershipFactory(project=shop, role=Role.MARKETER).user

    log_in(marketer)
    page.goto("/customers/")
    rows = page.locator("#customer-results tbody tr")
    expect(rows).to_have_count(3)
    page.get_by_label("Country").fill("poland")
    expect(rows).to_have_count(2)
    expect(page).to_have_url(re.compile(r"country=poland"))

    page.locator("#customer-results").get_by_role("button", name="Export CSV").click()

    expect(page).to_have_url(re.compile(r"/exports/aa_\w+/$"))
    job = Job.objects.get()
    expect(page).to_have_url(f"{live_server.url}/exports/{job.public_id}/")
    assert job.project == shop
    assert job.params == {"kind": "customers", "filters": "country=poland"}
    assert job.created_by == marketer
    assert job.status == JobStatus.DONE
    export = page.locator("#export")
    expect(export.locator("[data-status]")).to_have_attribute("data-status", "DONE")
    expect(export.locator("[data-status]")).to_have_text("Done")
    expect(export).to_contain_text("Customers export")
    expect(export).to_contain_text("country=poland")
    expect(export).to_contain_text("2 rows")

    link = page.get_by_test_id("export-download")
    expect(link).to_contain_text(job.result["filename"])
    with page.expect_download() as info:
        link.click()
    download = info.value
    assert download.suggested_filename == job.result["filename"]
    assert download.suggested_filename.startswith("customers-")
    with open(download.path(), encoding="utf-8", newline="") as file:
        table = list(csv.reader(io.StringIO(file.read())))

    header, body = table[0], table[1:]
    assert header[:4] == ["id", "source_id", "name", "email"]
    records = [dict(zip(header, row, strict=True)) for row in body]
    assert sorted(r["source_id"] for r in records) == ["alice", "formula"]
    assert {r["address_country"] for r in records} == {"Poland"}
    by_source = {r["source_id"]: r for r in records}
    assert by_source["alice"]["name"] == "Alice Warsaw"
    # a formula-looking cell is text for the spreadsheet: a leading apostrophe
    assert by_source["formula"]["name"] == '\'=HYPERLINK("x")'
    assert by_source["formula"]["description"] == "'-1+2"
    assert by_source["alice"]["orders_total_count"] == "0"

    # the export list shows the job, filtered, with the same download
    page.get_by_role("link", name="← Exports").click()
    row = page.locator(f"#job-{job.public_id}-row")
    expect(row).to_contain_text("Customers")
    expect(row).to_contain_text("filtered")
    expect(row.locator("[data-status]")).to_have_text("Done")
    expect(row.get_by_role("link", name=job.result["filename"])).to_be_visible()


def test_viewer_sees_no_export_button(page: Page, log_in, shop, live_server):
    viewer = MembershipFactory(project=shop, role=Role.VIEWER).user

    log_in(viewer)
    page.goto("/customers/")
    expect(page.locator("#customer-results tbody tr")).to_have_count(3)
    expect(page.get_by_role("button", name="Export CSV")).to_have_count(0)
    expect(page.get_by_test_id("export-customers")).to_have_count(0)
    page.goto("/exports/")
    expect(page.get_by_role("heading", name="Exports", level=1)).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("Export all"))).to_have_count(0)

    # and the server refuses to start one, with a valid CSRF token and session
    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    response = page.request.post(
        "/exports/start/",
        form={"kind": "customers", "filters": ""},
        headers={"X-CSRFToken": csrf, "Referer": f"{live_server.url}/customers/"},
    )
    assert response.status == 403
    assert not Job.objects.exists()
