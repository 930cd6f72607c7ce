from datetime import UTC, datetime

import pytest
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.urls import reverse

from apps.jobs.models import Job, JobStatus
from apps.projects.models import Role
from tests.customers.factories import CustomerFactory
from tests.exports.conftest import as_dicts, read_export
from tests.jobs.factories import JobFactory
from tests.projects.factories import MembershipFactory, ProjectFactory

pytestmark = pytest.mark.django_db


def export_job(project, **fields):
    defaults = {
        "type": "export.customers",
        "status": JobStatus.IN_PROGRESS,
        "total": 10,
        "processed": 4,
        "params": {"kind": "customers", "filters": "country=Poland"},
    }
    return JobFactory(project=project, **{**defaults, **fields})


def test_a_marketer_starts_an_export_and_lands_on_its_page(
    member_client, project, django_capture_on_commit_callbacks
):
    # given
    CustomerFactory(project=project, source_id="pl", address_country="Poland")
    CustomerFactory(project=project, source_id="uk", address_country="UK")
    client = member_client(Role.MARKETER)
    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("exports:start"), {"kind": "customers", "filters": "country=Poland"}
        )
    # then
    job = Job.objects.get(project=project)
    assert response.status_code == 302
    assert response["Location"] == reverse("exports:detail", args=[job.public_id])
    assert (job.type, job.status, job.created_by) == (
        "export.customers",
        JobStatus.DONE,
        client.membership.user,
    )
    assert [row["source_id"] for row in as_dicts(read_export(job))] == ["pl"]
    page = client.get(response["Location"])
    assert reverse("exports:download", args=[job.public_id]).encode() in page.content
    assert b"country=Poland" in page.content


def test_starting_from_htmx_redirects_the_browser(member_client, project):
    response = member_client(Role.MARKETER).post(
        reverse("exports:start"), {"kind": "orders"}, headers={"HX-Request": "true"}
    )
    job = Job.objects.get(project=project)
    assert response["HX-Redirect"] == reverse("exports:detail", args=[job.public_id])


def test_viewers_cannot_start_exports(member_client, project):
    response = member_client(Role.VIEWER).post(reverse("exports:start"), {"kind": "customers"})
    assert response.status_code == 403
    assert not Job.objects.exists()


def test_a_bad_start_request_shows_the_reason(member_client, project):
    client = member_client(Role.MARKETER)
    response = client.post(
        reverse("exports:start"),
        {"kind": "customers", "filters": "created_after=not-a-date"},
        follow=True,
    )
    assert b"The filters are not valid" in response.content
    response = client.post(reverse("exports:start"), {"kind": "coupons"}, follow=True)
    assert "Unknown export" in response.content.decode()
    assert not Job.objects.exists()


def test_the_export_page_polls_until_done(owner_client, project):
    running = export_job(project)
    url = reverse("exports:detail", args=[running.public_id])
    response = owner_client.get(url, headers={"HX-Request": "true"})
    assert b"<html" not in response.content and b'id="export"' in response.content
    assert b'hx-trigger="every 1s"' in response.content
    assert b'aria-valuenow="40"' in response.content
    assert b"download" not in response.content.lower()
    done = export_job(project, status=JobStatus.DONE, processed=10, result={"rows": 10})
    response = owner_client.get(reverse("exports:detail", args=[done.public_id]))
    assert b"<html" in response.content and b'hx-trigger="every 1s"' not in response.content
    assert reverse("exports:download", args=[done.public_id]).encode() in response.content


def test_the_export_list_shows_exports_only_and_polls_while_one_runs(
    owner_client, project, django_assert_max_num_queries
):
    # given
    for _ in range(5):
        export_job(project, status=JobStatus.DONE, result={"filename": "customers-x.csv"})
    running = export_job(project)
    JobFactory(project=project, type="ping")
    foreign = export_job(ProjectFactory(), params={"kind": "orders", "filters": ""})
    # when
    with django_assert_max_num_queries(8):
        response = owner_client.get(reverse("exports:list"))
    # then
    assert response.content.count(b"-row") == 6
    assert b"ping" not in response.content
    assert foreign.public_id.encode() not in response.content
    assert b'hx-trigger="every 1s"' in response.content
    assert reverse("exports:detail", args=[running.public_id]).encode() in response.content
    assert response.content.count(b"customers-x.csv") == 5
    assert b'data-testid="export-customers"' in response.content
    partial = owner_client.get(reverse("exports:list"), headers={"HX-Request": "true"})
    assert b"<html" not in partial.content and b'id="export-results"' in partial.content


def test_viewers_see_exports_without_start_buttons(member_client, project):
    export_job(project)
    response = member_client(Role.VIEWER).get(reverse("exports:list"))
    assert response.status_code == 200
    assert b"-row" in response.content
    assert b"exports/start" not in response.content


def test_download_streams_the_file_as_an_attachment(
    member_client, project, django_capture_on_commit_callbacks, time_machine
):
    # given a finished export
    time_machine.move_to(datetime(2026, 4, 2, 8, 30, tzinfo=UTC), tick=False)
    customer = CustomerFactory(project=project, source_id="c-1", name="Ann")
    with django_capture_on_commit_callbacks(execute=True):
        member_client(Role.MARKETER).post(reverse("exports:start"), {"kind": "customers"})
    job = Job.objects.get(project=project)
    # when a viewer downloads it
    response = member_client(Role.VIEWER).get(reverse("exports:download", args=[job.public_id]))
    # then
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="customers-20260402-0830.csv"'
    body = b"".join(response.streaming_content).decode()
    lines = body.splitlines()
    assert lines[0].startswith("id,source_id,name,email,")
    assert lines[1].startswith(f"{customer.public_id},c-1,Ann,")
    assert len(lines) == 2


def test_an_unfinished_export_cannot_be_downloaded(owner_client, project):
    job = export_job(project)
    response = owner_client.get(reverse("exports:download", args=[job.public_id]))
    assert response.status_code == 404


def test_a_finished_export_whose_file_is_gone_is_a_404(owner_client, project):
    job = export_job(
        project,
        status=JobStatus.DONE,
        result={"file": f"{project.public_id}/exports/missing.csv", "filename": "x.csv"},
    )
    response = owner_client.get(reverse("exports:download", args=[job.public_id]))
    assert response.status_code == 404


def test_another_projects_export_is_a_404(owner_client, project, run_export):
    other = ProjectFactory()
    CustomerFactory(project=other)
    job = run_export(other)
    assert job.status == JobStatus.DONE
    for name in ("exports:detail", "exports:download"):
        response = owner_client.get(reverse(name, args=[job.public_id]))
        assert response.status_code == 404, name


def test_a_job_of_another_kind_is_not_an_export(owner_client, project):
    ping = JobFactory(project=project, type="ping")
    for name in ("exports:detail", "exports:download"):
        assert owner_client.get(reverse(name, args=[ping.public_id])).status_code == 404


def test_anonymous_users_are_sent_to_login(client, project):
    job = export_job(project, status=JobStatus.DONE)
    urls = [
        reverse("exports:list"),
        reverse("exports:detail", args=[job.public_id]),
        reverse("exports:download", args=[job.public_id]),
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    response = client.post(reverse("exports:start"), {"kind": "customers"})
    assert response["Location"].startswith("/accounts/login/")
    assert Job.objects.count() == 1


def test_the_export_button_carries_the_list_filters(project):
    request = RequestFactory().get("/customers/", {"country": "Poland", "q": "a&b"})
    marketer = MembershipFactory(project=project, role=Role.MARKETER)
    html = render_to_string(
        "exports/partials/_export_button.html",
        {"kind": "customers", "membership": marketer},
        request=request,
    )
    assert 'name="kind" value="customers"' in html
    assert 'name="filters" value="country=Poland&amp;q=a%26b"' in html
    assert "csrfmiddlewaretoken" in html
    viewer = MembershipFactory(project=project, role=Role.VIEWER)
    html = render_to_string(
        "exports/partials/_export_button.html",
        {"kind": "customers", "membership": viewer},
        request=request,
    )
    assert "form" not in html
