import pytest
from django.urls import reverse

from apps.customers.models import Customer
from apps.imports.models import Import, ImportStatus
from apps.jobs.models import Job
from apps.projects.models import Role
from tests.imports.factories import ImportFactory
from tests.imports.helpers import as_upload
from tests.projects.factories import ProjectFactory

pytestmark = pytest.mark.django_db

GOOD_AND_BAD = (
    "source_id,name,email,Favourite colour\n"
    "c-1,Ann,ann@example.com,red\n"
    "c-2,Bob,bob@nowhere,blue\n"
    "c-3,=cmd|'/c calc'!A1,cid@example.com,\n"
)


def upload_file(client, data=GOOD_AND_BAD, kind="customers", name="people.csv"):
    return client.post(reverse("imports:new"), {"kind": kind, "file": as_upload(data, name)})


def test_the_whole_flow(member_client, project, django_capture_on_commit_callbacks):
    client = member_client(Role.MARKETER)
    # upload → mapping page with every column and its first values
    response = upload_file(client)
    imp = Import.objects.get(project=project)
    assert response.status_code == 302
    assert response["Location"] == reverse("imports:mapping", args=[imp.public_id])
    page = client.get(response["Location"])
    html = page.content.decode()
    assert page.status_code == 200
    assert "Favourite colour" in html and "bob@nowhere" in html
    assert '<option value="metadata.Favourite_colour" selected>' in html
    # mapping → dry run (inline) → report with the bad row
    fields = {f"col_{i}": target for i, target in enumerate(imp.mapping)}
    response = client.post(reverse("imports:mapping", args=[imp.public_id]), fields)
    assert response["Location"] == reverse("imports:detail", args=[imp.public_id])
    report = client.get(response["Location"]).content.decode()
    assert 'data-testid="count-invalid">1<' in report
    assert 'data-testid="count-new">2<' in report
    assert "“bob@nowhere” is not a valid email address" in report
    assert 'data-line="3"' in report
    assert "Import 2 valid rows" in report
    assert not Customer.objects.exists()
    # confirm → the job runs (eagerly) → done, with the rejected rows to download
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("imports:confirm", args=[imp.public_id]))
    done = client.get(response["Location"]).content.decode()
    imp.refresh_from_db()
    assert imp.status == ImportStatus.DONE
    assert 'data-status="DONE"' in done
    assert 'aria-valuenow="100"' in done  # the job's progress bar
    assert "Download rejected rows" in done
    download = client.get(reverse("imports:rejected", args=[imp.public_id]))
    body = b"".join(download.streaming_content).decode("utf-8-sig")
    assert download["Content-Disposition"] == 'attachment; filename="people-rejected-rows.csv"'
    assert body.splitlines() == [
        "source_id,name,email,Favourite colour,error",
        "c-2,Bob,bob@nowhere,blue,email: “bob@nowhere” is not a valid email address",
    ]
    assert set(Customer.objects.values_list("source_id", flat=True)) == {"c-1", "c-3"}
    assert Job.objects.get(pk=imp.job_id).created_by == client.membership.user


def test_upload_errors_are_shown_on_the_form(member_client, project):
    client = member_client(Role.MARKETER)
    response = upload_file(client, "source_id,name\nc-1,Café\n".encode("latin-1"))
    assert response.status_code == 200
    assert "The file is not UTF-8: byte 0xE9 on line 2" in response.content.decode()
    assert not Import.objects.exists()


def test_mapping_errors_are_shown(member_client, project):
    client = member_client(Role.MARKETER)
    upload_file(client, "name,email\nAnn,a@example.com\n")
    imp = Import.objects.get()
    response = client.post(
        reverse("imports:mapping", args=[imp.public_id]), {"col_0": "name", "col_1": "name"}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "Columns “name” and “email” both go to name." in html
    assert "The file needs a source_id column" in html
    imp.refresh_from_db()
    assert imp.status == ImportStatus.MAPPING


def test_detail_returns_a_partial_for_htmx(member_client, project):
    imp = ImportFactory(project=project, status=ImportStatus.IMPORTING)
    client = member_client(Role.VIEWER)
    response = client.get(reverse("imports:detail", args=[imp.public_id]), HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert 'id="import"' in html
    assert 'hx-trigger="every 1s"' in html  # polls while running


def test_htmx_confirm_swaps_the_report(
    member_client, project, checked_import, django_capture_on_commit_callbacks
):
    client = member_client(Role.MARKETER)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("imports:confirm", args=[checked_import.public_id]),
            HTTP_HX_REQUEST="true",
            follow=True,
        )
    # the swapped report polls while the job is queued (the task runs after the commit)
    html = response.content.decode()
    assert "<html" not in html
    assert 'data-status="IMPORTING"' in html
    assert 'hx-trigger="every 1s"' in html
    assert "Import started" in html  # the flash message, out of band
    # and the next poll shows the finished import, which stops polling
    url = reverse("imports:detail", args=[checked_import.public_id])
    html = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert 'data-status="DONE"' in html
    assert "hx-trigger" not in html


def test_viewers_see_imports_but_cannot_import(member_client, project, checked_import):
    client = member_client(Role.VIEWER)
    assert client.get(reverse("imports:list")).status_code == 200
    detail = client.get(reverse("imports:detail", args=[checked_import.public_id]))
    assert detail.status_code == 200
    assert "Import 1 valid row" not in detail.content.decode()
    assert client.get(reverse("imports:new")).status_code == 403
    assert upload_file(client).status_code == 403
    mapping = reverse("imports:mapping", args=[checked_import.public_id])
    assert client.get(mapping).status_code == 403
    confirm = reverse("imports:confirm", args=[checked_import.public_id])
    assert client.post(confirm).status_code == 403
    checked_import.refresh_from_db()
    assert checked_import.status == ImportStatus.VALIDATED
    assert Import.objects.count() == 1


def test_other_projects_imports_are_404(member_client, project):
    theirs = ImportFactory(project=ProjectFactory())
    client = member_client(Role.OWNER)
    for name in ("detail", "mapping", "rejected"):
        assert client.get(reverse(f"imports:{name}", args=[theirs.public_id])).status_code == 404
    for name in ("mapping", "confirm"):
        assert client.post(reverse(f"imports:{name}", args=[theirs.public_id])).status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == ImportStatus.VALIDATED
    assert not Job.objects.exists()


def test_pages_require_login(client, project):
    imp = ImportFactory(project=project)
    for url in (
        reverse("imports:list"),
        reverse("imports:new"),
        reverse("imports:detail", args=[imp.public_id]),
        reverse("imports:rejected", args=[imp.public_id]),
    ):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_list_shows_this_projects_imports(member_client, project, django_assert_max_num_queries):
    for _ in range(3):
        ImportFactory(project=project)
    ImportFactory(project=ProjectFactory(), original_name="secret.csv")
    client = member_client(Role.VIEWER)
    with django_assert_max_num_queries(8):
        response = client.get(reverse("imports:list"))
    html = response.content.decode()
    assert html.count('id="import-imp_') == 3
    assert "secret.csv" not in html


def test_no_rejected_file_is_404(member_client, project):
    imp = ImportFactory(project=project)
    client = member_client(Role.VIEWER)
    assert client.get(reverse("imports:rejected", args=[imp.public_id])).status_code == 404


def test_template_csv_lists_the_columns(member_client):
    client = member_client(Role.VIEWER)
    response = client.get(reverse("imports:template") + "?kind=skus")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response.content.decode("utf-8-sig").strip() == (
        "source_id,product_source_id,sku,price,image_url,attributes,metadata.example"
    )


@pytest.fixture
def checked_import(project, checked):
    return checked("source_id,email\nc-1,ann@example.com\nc-2,bad\n")
