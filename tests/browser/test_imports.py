import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from apps.customers.models import Customer
from apps.imports.models import Import, ImportStatus
from apps.projects.models import Role
from tests.projects.factories import MembershipFactory, ProjectFactory

PEOPLE = (
    "source_id,name,email,Favourite colour\n"
    "c-1,Ann Lee,ann@example.com,red\n"
    "c-2,Bob Ray,bob@nowhere,blue\n"
    "c-3,=SUM(A1:A2),cid@example.com,\n"
)


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def marketer(transactional_db):
    project = ProjectFactory(name="Alpha Shop", currency="USD")
    return MembershipFactory(project=project, role=Role.MARKETER).user


def test_marketer_imports_customers_and_downloads_the_rejected_rows(
    page: Page, log_in, marketer, live_server
):
    log_in(marketer)

    # 1. upload
    page.goto("/imports/new/")
    page.get_by_label("The file contains").select_option("customers")
    page.get_by_label("File", exact=True).set_input_files(
        files=[{"name": "people.csv", "mimeType": "text/csv", "buffer": PEOPLE.encode()}]
    )
    page.get_by_role("button", name="Upload").click()

    # 2. the mapping page proposes a target for every column
    expect(page.get_by_role("heading", level=1)).to_have_text("Map the columns of people.csv")
    expect(page.get_by_label("Favourite colour")).to_have_value("metadata.Favourite_colour")
    expect(page.get_by_label("email")).to_have_value("email")
    page.get_by_role("button", name="Check the file").click()

    # 3. the dry run reports the bad row, and nothing is written yet
    imp = Import.objects.get()
    expect(page).to_have_url(re.compile(rf"/imports/{imp.public_id}/$"))
    expect(page.get_by_test_id("count-invalid")).to_have_text("1")
    expect(page.get_by_test_id("count-new")).to_have_text("2")
    bad_row = page.locator('#import-issues tr[data-line="3"]')
    expect(bad_row).to_contain_text("email")
    expect(bad_row).to_contain_text("“bob@nowhere” is not a valid email address")
    assert not Customer.objects.exists()

    # 4. confirm: the report is swapped in place (htmx) and the job's progress bar reaches done
    page.evaluate("window.__noFullReload = true")
    page.get_by_role("button", name="Import 2 valid rows").click()
    progress = page.get_by_test_id("import-progress").get_by_role("progressbar")
    expect(progress).to_have_attribute("aria-valuenow", "100")
    expect(page.locator('#import [data-status="DONE"]').first).to_be_visible()
    expect(page.locator("#messages")).to_contain_text("Import started")
    assert page.evaluate("window.__noFullReload === true"), "confirming reloaded the page"
    imp.refresh_from_db()
    assert imp.status == ImportStatus.DONE
    assert set(Customer.objects.values_list("source_id", flat=True)) == {"c-1", "c-3"}

    # 5. the rejected rows download: original columns + error, formulas escaped
    with page.expect_download() as info:
        page.get_by_role("link", name="Download rejected rows (CSV)").click()
    download = info.value
    assert download.suggested_filename == "people-rejected-rows.csv"
    content = Path(download.path()).read_text(encoding="utf-8-sig")
    assert content.splitlines() == [
        "source_id,name,email,Favourite colour,error",
        "c-2,Bob Ray,bob@nowhere,blue,email: “bob@nowhere” is not a valid email address",
    ]


def test_a_latin1_file_is_refused_on_the_upload_form(page: Page, log_in, marketer):
    log_in(marketer)
    page.goto("/imports/new/")
    page.get_by_label("File", exact=True).set_input_files(
        files=[
            {
                "name": "old.csv",
                "mimeType": "text/csv",
                "buffer": "source_id\nCafé\n".encode("latin-1"),
            }
        ]
    )
    page.get_by_role("button", name="Upload").click()
    expect(page.locator(".invalid-feedback")).to_contain_text(
        "The file is not UTF-8: byte 0xE9 on line 2"
    )
    assert not Import.objects.exists()
