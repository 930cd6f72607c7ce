import csv
import datetime as dt
import io
import json

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from apps.customers.models import Customer
from apps.demo.data import seed_project_data
from apps.jobs.models import Job, JobStatus
from apps.projects.models import Role
from apps.segments import usage
from apps.segments.models import Segment, SegmentEvent, SegmentMember, SegmentType, SyncStatus
from apps.segments.selectors import segment_size_chart
from apps.segments.services import segment_add_members, segment_create, segment_recompute
from tests.customers.factories import CustomerFactory
from tests.jobs.factories import JobFactory
from tests.projects.factories import ProjectFactory
from tests.segments.factories import SegmentFactory, SegmentMemberFactory, SegmentSizeFactory

pytestmark = pytest.mark.django_db

BERLIN = {"junction": "and", "address.city": {"conditions": {"$is": ["Berlin"]}}}
HTMX = {"HX-Request": "true"}


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Export files go to a temporary MEDIA_ROOT."""
    settings.MEDIA_ROOT = str(tmp_path / "media")


def url(name: str, segment=None, **query) -> str:
    path = reverse(f"segments:{name}", args=[segment.public_id] if segment else [])
    if query:
        from urllib.parse import urlencode

        path += "?" + urlencode(query)
    return path


def static_segment(project, name="VIP", refs=()):
    segment = segment_create(project=project, name=name, type=SegmentType.STATIC)
    if refs:
        segment_add_members(segment=segment, refs=list(refs))
    segment.refresh_from_db()
    return segment


def berlin_segment(project, name="Berlin", type=SegmentType.AUTO_UPDATE):
    segment = Segment.objects.create(project=project, name=name, type=type, filter=BERLIN)
    segment_recompute(segment_id=segment.pk)
    segment.refresh_from_db()
    return segment


def member_source_ids(segment) -> set[str]:
    return set(
        SegmentMember.objects.filter(segment=segment).values_list("customer__source_id", flat=True)
    )


# --- list -----------------------------------------------------------------------------------


def test_list_shows_type_size_date_marker_and_computing(owner_client, project):
    CustomerFactory(project=project, source_id="a", address_city="Berlin")
    berlin_segment(project, name="Berlin buyers")
    SegmentFactory(
        project=project,
        name="Birthdays",
        type=SegmentType.AUTO_UPDATE,
        filter={"junction": "and", "birthdate": {"conditions": {"$this_month": True}}},
        uses_time=True,
        initial_sync_status=SyncStatus.IN_PROGRESS,
    )
    SegmentFactory(name="Other project's segment")

    response = owner_client.get(url("list"))

    content = response.content.decode()
    assert response.status_code == 200
    assert "Berlin buyers" in content and "Birthdays" in content
    assert "Other project" not in content
    assert content.count('data-testid="uses-time"') == 1
    assert "computing…" in content
    assert "Auto-update" in content
    assert reverse("segments:create") in content
    assert "Recompute date-based segments now" in content


def test_list_search_by_name_and_partial_for_htmx(owner_client, project):
    SegmentFactory(project=project, name="Berlin buyers")
    SegmentFactory(project=project, name="Paris buyers")

    response = owner_client.get(url("list", q="berlin"), headers=HTMX)

    content = response.content.decode()
    assert "<html" not in content and 'id="segment-results"' in content
    assert "Berlin buyers" in content and "Paris buyers" not in content
    empty = owner_client.get(url("list", q="nothing like it")).content.decode()
    assert "No segment is named like “nothing like it”" in empty


def test_list_pages_without_counting(owner_client, project, django_assert_max_num_queries):
    for index in range(30):
        SegmentFactory(project=project, name=f"Segment {index:02d}")
    with django_assert_max_num_queries(6):
        first = owner_client.get(url("list"))
    assert first.context["page"].has_next and len(first.context["page"]) == 25
    second = owner_client.get(url("list", page=2))
    assert [s.name for s in second.context["page"]] == [f"Segment {i}" for i in range(25, 30)]


def test_viewers_see_no_write_buttons(member_client, project):
    segment = static_segment(project)
    client = member_client(Role.VIEWER)

    listing = client.get(url("list")).content.decode()
    detail = client.get(url("detail", segment)).content.decode()

    assert reverse("segments:create") not in listing
    assert "Recompute date-based segments now" not in listing
    for text in ("Add customers", "Remove selected", "Export members", url("delete", segment)):
        assert text not in detail
    assert "No members yet." in detail


def test_recompute_date_based_segments_of_this_project_only(
    owner_client, project, django_capture_on_commit_callbacks
):
    birthday = {"junction": "and", "birthdate": {"conditions": {"$this_month": True}}}
    ours = SegmentFactory(
        project=project, type=SegmentType.AUTO_UPDATE, filter=birthday, uses_time=True
    )
    SegmentFactory(project=project, type=SegmentType.AUTO_UPDATE, filter=BERLIN)
    theirs = SegmentFactory(type=SegmentType.AUTO_UPDATE, filter=birthday, uses_time=True)

    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(url("recompute_time_based"), follow=True)

    jobs = Job.objects.filter(type="segment.recompute")
    assert [job.params["segment"] for job in jobs] == [ours.public_id]
    assert jobs.get().status == JobStatus.DONE
    assert not Job.objects.filter(project=theirs.project).exists()
    assert "Recomputing 1 date-based segment now" in response.content.decode()


def test_recompute_date_based_says_when_there_is_none(owner_client):
    response = owner_client.post(url("recompute_time_based"), follow=True)
    assert "No segment of this project depends on the date." in response.content.decode()
    assert not Job.objects.exists()


# --- detail ---------------------------------------------------------------------------------


def test_detail_of_an_auto_update_segment(owner_client, project):
    ann = CustomerFactory(
        project=project, source_id="ann", name="Ann Berliner", address_city="Berlin"
    )
    CustomerFactory(project=project, source_id="paul", name="Paul Parisien", address_city="Paris")
    segment = berlin_segment(project)
    SegmentSizeFactory(segment=segment, day=dt.date.today() - dt.timedelta(days=10), size=7)

    response = owner_client.get(url("detail", segment))

    content = response.content.decode()
    assert response.status_code == 200
    # the filter in words and as JSON
    assert "City is “Berlin”" in content
    assert json.dumps(BERLIN, indent=2).replace('"', "&quot;") in content
    # the chart, with its text version
    assert "<svg" in content
    assert "size 7 on " in content and "size 1 on " in content
    # the members and the entered event
    assert "Ann Berliner" in content and "Paul Parisien" not in content
    assert response.context["events"][0].customer == ann
    assert "entered" in content
    # no static-only controls on a filter segment
    assert "Add customers" not in content and "Remove selected" not in content
    assert url("recompute", segment) in content


def test_detail_of_an_empty_static_segment(owner_client, project):
    segment = static_segment(project)

    content = owner_client.get(url("detail", segment)).content.decode()

    assert "No members yet — add customers by source_id or upload a CSV." in content
    assert "Add customers" in content
    assert "A fixed list of customers" in content
    assert "No size recorded yet." not in content  # creating it recorded size 0 today
    assert url("recompute", segment) not in content


def test_detail_404s_for_another_projects_segment(owner_client):
    other = SegmentFactory()
    assert owner_client.get(url("detail", other)).status_code == 404
    assert owner_client.get("/segments/seg_unknown/").status_code == 404


def test_detail_members_use_few_queries(owner_client, project, django_assert_max_num_queries):
    segment = SegmentFactory(project=project)
    SegmentMemberFactory.create_batch(30, segment=segment)
    with django_assert_max_num_queries(12):
        response = owner_client.get(url("detail", segment))
    assert len(response.context["members_page"]) == 25
    assert response.context["members_page"].has_next


def test_size_chart_carries_the_last_size_forward():
    # given sizes recorded 100 days ago (before the window) and 5 days ago
    segment = SegmentFactory()
    today = dt.date(2026, 3, 31)
    SegmentSizeFactory(segment=segment, day=today - dt.timedelta(days=100), size=4)
    SegmentSizeFactory(segment=segment, day=today - dt.timedelta(days=5), size=8)

    chart = segment_size_chart(segment=segment, today=today)

    assert len(chart.bars) == 90 and chart.peak == 8
    assert [bar.size for bar in chart.bars[:3]] == [4, 4, 4]
    assert [bar.size for bar in chart.bars[-7:]] == [4, 8, 8, 8, 8, 8, 8]
    assert [(bar.day, bar.size) for bar in chart.changes] == [
        (today - dt.timedelta(days=89), 4),
        (today - dt.timedelta(days=5), 8),
    ]
    assert chart.bars[-1].height > chart.bars[0].height


# --- members --------------------------------------------------------------------------------


def test_member_search_returns_the_partial(owner_client, project):
    CustomerFactory(project=project, source_id="ab", name="Anna Berlin", address_city="Berlin")
    CustomerFactory(project=project, source_id="xy", name="Xavier Berlin", address_city="Berlin")
    CustomerFactory(project=project, source_id="cd", name="Anna Paris", address_city="Paris")
    segment = berlin_segment(project)

    by_name = owner_client.get(url("members", segment, q="anna"), headers=HTMX)
    by_source_id = owner_client.get(url("members", segment, q="xy"), headers=HTMX)

    content = by_name.content.decode()
    assert "<html" not in content and 'id="segment-members"' in content
    assert "Anna Berlin" in content and "Xavier" not in content and "Anna Paris" not in content
    assert by_name["HX-Replace-Url"] == url("detail", segment, q="anna")
    assert "Xavier Berlin" in by_source_id.content.decode()
    assert "Anna Berlin" not in by_source_id.content.decode()
    none = owner_client.get(url("members", segment, q="zzz"), headers=HTMX).content.decode()
    assert "No member matches “zzz”." in none


def test_members_without_htmx_go_to_the_segment_page(owner_client, project):
    segment = static_segment(project)
    response = owner_client.get(url("members", segment, q="anna"))
    assert response.status_code == 302
    assert response["Location"] == url("detail", segment, q="anna")


def test_members_page_two(owner_client, project):
    segment = SegmentFactory(project=project)
    members = SegmentMemberFactory.create_batch(27, segment=segment)
    response = owner_client.get(url("members", segment, page=2), headers=HTMX)
    content = response.content.decode()
    # newest customers first: page two holds the two oldest
    rows = [
        m.customer.public_id for m in members if f"member-{m.customer.public_id}-row" in content
    ]
    assert rows == [members[0].customer.public_id, members[1].customer.public_id]
    assert content.index(members[1].customer.public_id) < content.index(
        members[0].customer.public_id
    )
    assert "← Previous" in content and "Next →" not in content


# --- static membership ------------------------------------------------------------------------


def test_add_by_paste_reports_unknown_ids(owner_client, project):
    a = CustomerFactory(project=project, source_id="a")
    b = CustomerFactory(project=project, source_id="b")
    CustomerFactory(source_id="c")  # another project's customer is unknown here
    segment = static_segment(project)

    response = owner_client.post(
        url("members_add", segment),
        {"refs": f"a, {b.public_id}\nc\n\nnope"},
        headers=HTMX,
    )

    content = response.content.decode()
    assert response.status_code == 200
    assert 'id="segment-add"' in content and "<html" not in content
    assert "Added 2. Not found: c, nope." in content
    assert member_source_ids(segment) == {"a", "b"}
    segment.refresh_from_db()
    assert segment.size == 2
    assert json.loads(response["HX-Trigger"]) == {"segmentChanged": {}, "membersChanged": {}}
    assert a.pk in SegmentMember.objects.values_list("customer_id", flat=True)


def test_add_lists_ten_unknown_ids_and_counts_the_rest(owner_client, project):
    segment = static_segment(project)
    refs = "\n".join(f"ghost-{index:02d}" for index in range(13))

    response = owner_client.post(url("members_add", segment), {"refs": refs}, follow=True)

    content = response.content.decode()
    shown = ", ".join(f"ghost-{index:02d}" for index in range(10))
    assert f"Added 0. Not found: {shown} (and 3 more)." in content


def test_add_twice_says_they_are_members_already(owner_client, project):
    CustomerFactory(project=project, source_id="a")
    segment = static_segment(project, refs=["a"])
    response = owner_client.post(url("members_add", segment), {"refs": "a"}, headers=HTMX)
    assert "Added 0: those customers are members already." in response.content.decode()


def test_add_without_htmx_redirects_with_a_message(owner_client, project):
    CustomerFactory(project=project, source_id="a")
    segment = static_segment(project)
    response = owner_client.post(url("members_add", segment), {"refs": "a"})
    assert response.status_code == 302 and response["Location"] == url("detail", segment)
    page = owner_client.get(response["Location"]).content.decode()
    assert "Added 1." in page


@pytest.mark.parametrize(
    "content",
    [
        "source_id\na\nb\nghost\n",  # a header
        "a\nb\nghost\n",  # no header
        "\ufeffname,source_id\nAnn,a\nBob,b\nNo one,ghost\n",  # BOM, source_id not first
        'a,"x, y"\r\nb,z\r\n\r\nghost,\r\n',  # first column, quoted cells, CRLF
    ],
    ids=["header", "no-header", "named-column", "first-column"],
)
def test_add_by_csv(owner_client, project, content):
    CustomerFactory(project=project, source_id="a")
    CustomerFactory(project=project, source_id="b")
    segment = static_segment(project)
    upload = SimpleUploadedFile("ids.csv", content.encode(), content_type="text/csv")

    response = owner_client.post(url("members_add", segment), {"file": upload}, headers=HTMX)

    assert "Added 2. Not found: ghost." in response.content.decode()
    assert member_source_ids(segment) == {"a", "b"}


def test_add_by_csv_and_paste_together(owner_client, project):
    CustomerFactory(project=project, source_id="a")
    CustomerFactory(project=project, source_id="b")
    segment = static_segment(project)
    upload = SimpleUploadedFile("ids.csv", b"b\n", content_type="text/csv")
    response = owner_client.post(
        url("members_add", segment), {"refs": "a", "file": upload}, headers=HTMX
    )
    assert "Added 2." in response.content.decode()


def test_add_a_large_csv_in_batches(owner_client, project):
    # given more ids than one statement may carry parameters on PostgreSQL (65,535)
    customers = CustomerFactory.build_batch(3, project=project)
    for index, customer in enumerate(customers):
        customer.source_id = f"real-{index}"
        customer.save()
    rows = [f"missing-{index}" for index in range(70_000)] + ["real-0", "real-1", "real-2"]
    upload = SimpleUploadedFile("big.csv", "\n".join(rows).encode(), content_type="text/csv")
    segment = static_segment(project)

    response = owner_client.post(url("members_add", segment), {"file": upload}, headers=HTMX)

    assert "Added 3. Not found: missing-0, missing-1" in response.content.decode()
    assert "(and 69990 more)" in response.content.decode()
    assert member_source_ids(segment) == {"real-0", "real-1", "real-2"}


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({}, "Paste some IDs or choose a CSV file."),
        (
            {"file": SimpleUploadedFile("x.csv", "Zürich".encode("latin-1"))},
            "The file is not UTF-8 text",
        ),
    ],
    ids=["nothing", "not-utf8"],
)
def test_add_shows_form_errors(owner_client, project, data, error):
    segment = static_segment(project)
    partial = owner_client.post(url("members_add", segment), data, headers=HTMX)
    assert error in partial.content.decode() and 'id="segment-add"' in partial.content.decode()
    # without htmx: the whole page, with the errors in the form
    if "file" in data:
        data["file"].seek(0)
    page = owner_client.post(url("members_add", segment), data)
    assert page.status_code == 200 and error in page.content.decode()
    assert "<html" in page.content.decode()


def test_remove_selected_members(owner_client, project):
    for source_id in ("a", "b", "c"):
        CustomerFactory(project=project, source_id=source_id)
    segment = static_segment(project, refs=["a", "b", "c"])
    a, b = (SegmentMember.objects.get(segment=segment, customer__source_id=s) for s in "ab")
    outsider = CustomerFactory(project=project, source_id="outsider")

    response = owner_client.post(
        url("members_remove", segment),
        {"customer": [a.customer.public_id, b.customer.public_id, outsider.public_id]},
        headers=HTMX,
    )

    content = response.content.decode()
    assert 'id="segment-members"' in content and "<html" not in content
    assert "Removed 2 members from “VIP”." in content  # the message, out of band
    assert member_source_ids(segment) == {"c"}
    segment.refresh_from_db()
    assert segment.size == 1
    assert json.loads(response["HX-Trigger"]) == {"segmentChanged": {}}


def test_remove_nothing_selected(owner_client, project):
    CustomerFactory(project=project, source_id="a")
    segment = static_segment(project, refs=["a"])
    response = owner_client.post(url("members_remove", segment), {}, follow=True)
    assert "Select the members to remove first." in response.content.decode()
    assert member_source_ids(segment) == {"a"}


def test_membership_by_hand_only_for_static_segments(owner_client, project):
    ann = CustomerFactory(project=project, source_id="ann", address_city="Berlin")
    CustomerFactory(project=project, source_id="paul", address_city="Paris")
    segment = berlin_segment(project)

    added = owner_client.post(url("members_add", segment), {"refs": "paul"}, follow=True)
    removed = owner_client.post(
        url("members_remove", segment), {"customer": [ann.public_id]}, follow=True
    )

    for response in (added, removed):
        assert "only static segments take members by hand" in response.content.decode()
    assert member_source_ids(segment) == {"ann"}


# --- recompute ------------------------------------------------------------------------------


def test_recompute_starts_a_job_and_shows_its_progress(
    owner_client, project, django_capture_on_commit_callbacks
):
    CustomerFactory(project=project, source_id="a", address_city="Berlin")
    segment = berlin_segment(project)
    CustomerFactory(project=project, source_id="b", address_city="Berlin")

    # when the recompute is asked for (its task runs after the commit, at the end of the block)
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(url("recompute", segment), headers=HTMX)

    # then the summary shows the queued job and polls it
    job = Job.objects.get(type="segment.recompute")
    assert job.params == {"segment": segment.public_id}
    assert job.created_by == owner_client.membership.user
    content = response.content.decode()
    assert 'id="segment-summary"' in content and "<html" not in content
    assert f'?job={job.public_id}" hx-trigger="every 1s"' in content
    assert "Enqueued" in content
    # and the next poll shows it done, with the new size, and reloads the member list
    job.refresh_from_db()
    assert job.status == JobStatus.DONE and job.result == {"entered": 1, "left": 0}
    polled = owner_client.get(url("detail", segment, job=job.public_id), headers=HTMX)
    content = polled.content.decode()
    assert "Done: 1 entered, 0 left." in content
    assert 'data-testid="segment-size">2<' in content
    assert 'hx-trigger="every 1s"' not in content
    assert json.loads(polled["HX-Trigger"]) == {"membersChanged": {}}
    assert member_source_ids(segment) == {"a", "b"}


def test_recompute_without_htmx_redirects_to_the_job_on_the_page(
    owner_client, project, django_capture_on_commit_callbacks
):
    segment = berlin_segment(project)
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(url("recompute", segment))
    job = Job.objects.get(type="segment.recompute")
    assert response["Location"] == url("detail", segment, job=job.public_id)
    page = owner_client.get(response["Location"]).content.decode()
    assert job.public_id in page and "Done: 0 entered, 0 left." in page


def test_summary_polls_a_running_recompute_until_it_is_done(owner_client, project):
    segment = berlin_segment(project)
    job = JobFactory(
        project=project,
        type="segment.recompute",
        status=JobStatus.IN_PROGRESS,
        params={"segment": segment.public_id},
        total=None,
        processed=0,
    )

    page = owner_client.get(url("detail", segment)).content.decode()
    running = owner_client.get(url("detail", segment, job=job.public_id), headers=HTMX)
    Job.objects.filter(pk=job.pk).update(status=JobStatus.DONE, result={"entered": 3, "left": 1})
    done = owner_client.get(url("detail", segment, job=job.public_id), headers=HTMX)

    poll = f'hx-get="{url("detail", segment)}?job={job.public_id}" hx-trigger="every 1s"'
    assert poll in page  # the page finds the running job by itself
    assert poll in running.content.decode() and "HX-Trigger" not in running
    assert "In progress" in running.content.decode()
    assert 'hx-trigger="every 1s"' not in done.content.decode()
    assert "Done: 3 entered, 1 left." in done.content.decode()
    assert json.loads(done["HX-Trigger"]) == {"membersChanged": {}}


def test_events_region_reloads_on_its_own(owner_client, project):
    CustomerFactory(project=project, source_id="a", name="Ann", address_city="Berlin")
    segment = berlin_segment(project)
    response = owner_client.get(
        url("detail", segment), headers={**HTMX, "HX-Target": "segment-events"}
    )
    content = response.content.decode()
    assert content.lstrip().startswith('<section id="segment-events"')
    assert "Ann" in content and "entered" in content


def test_another_segments_job_is_not_shown(owner_client, project):
    segment = berlin_segment(project)
    other = JobFactory(project=project, type="segment.recompute", params={"segment": "seg_x"})
    response = owner_client.get(url("detail", segment, job=other.public_id))
    assert other.public_id not in response.content.decode()


def test_static_segments_are_not_recomputed(owner_client, project):
    segment = static_segment(project)
    response = owner_client.post(url("recompute", segment), follow=True)
    assert "A static segment has no filter to recompute." in response.content.decode()
    assert not Job.objects.exists()


# --- export ---------------------------------------------------------------------------------


def test_export_members_produces_exactly_the_members(
    owner_client, project, django_capture_on_commit_callbacks
):
    for source_id in ("a", "b", "c"):
        CustomerFactory(project=project, source_id=source_id)
    segment = static_segment(project, refs=["a", "c"])
    static_segment(project, name="Other", refs=["b"])

    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(url("export", segment))

    job = Job.objects.get(type="export.customers")
    assert response["Location"] == reverse("exports:detail", args=[job.public_id])
    assert job.params == {"kind": "customers", "filters": f"segment={segment.public_id}"}
    assert job.status == JobStatus.DONE
    with default_storage.open(job.result["file"], "rb") as file:
        rows = list(csv.DictReader(io.StringIO(file.read().decode("utf-8"))))
    assert sorted(row["source_id"] for row in rows) == ["a", "c"]


def test_customer_list_filters_by_segment(owner_client, project):
    CustomerFactory(project=project, source_id="a", name="Alice Member")
    CustomerFactory(project=project, source_id="b", name="Bob Outsider")
    segment = static_segment(project, refs=["a"])

    content = owner_client.get(
        reverse("customers:list"), {"segment": segment.public_id}
    ).content.decode()

    assert "Alice Member" in content and "Bob Outsider" not in content


def test_customer_page_links_to_its_segments(owner_client, project):
    customer = CustomerFactory(project=project, source_id="a")
    segment = static_segment(project, name="VIP list", refs=["a"])
    content = owner_client.get(
        reverse("customers:detail", args=[customer.public_id])
    ).content.decode()
    assert f'href="{url("detail", segment)}" data-testid="customer-segment">VIP list</a>' in content


# --- delete ---------------------------------------------------------------------------------


@pytest.fixture
def in_use(monkeypatch):
    """Register a usage check naming "validation rule Gold only" for segments named "Gold"; the
    registry is restored afterwards."""
    monkeypatch.setattr(usage, "_checks", list(usage._checks))

    def check(segment):
        return ["validation rule “Gold only”"] if segment.name == "Gold" else []

    usage.register_segment_usage(check)
    return check


def test_delete_is_refused_while_the_segment_is_in_use(owner_client, project, in_use):
    segment = static_segment(project, name="Gold")

    asked = owner_client.get(url("delete", segment)).content.decode()
    response = owner_client.post(url("delete", segment))

    assert "validation rule “Gold only”" in asked
    assert 'class="btn btn-danger" disabled' in asked
    assert response.status_code == 409
    content = response.content.decode()
    assert "“Gold” is in use by validation rule “Gold only”. Remove it there first." in content
    assert Segment.objects.filter(pk=segment.pk).exists()


def test_delete_after_confirming(owner_client, project, in_use):
    CustomerFactory(project=project, source_id="a")
    segment = static_segment(project, name="Silver", refs=["a"])

    asked = owner_client.get(url("delete", segment))
    response = owner_client.post(url("delete", segment), follow=True)

    assert "Delete the segment “Silver”?" in asked.content.decode()
    assert "Segment “Silver” deleted." in response.content.decode()
    assert not Segment.objects.filter(pk=segment.pk).exists()
    assert not SegmentMember.objects.exists()


# --- permissions ------------------------------------------------------------------------------


def test_viewers_cannot_change_anything(member_client, project):
    for source_id in ("a", "b"):
        CustomerFactory(project=project, source_id=source_id, address_city="Berlin")
    static = static_segment(project, refs=["a"])
    auto = berlin_segment(project)
    client = member_client(Role.VIEWER)
    posts = [
        (url("members_add", static), {"refs": "b"}),
        (url("members_remove", static), {"customer": ["a"]}),
        (url("recompute", auto), {}),
        (url("export", static), {}),
        (url("delete", static), {}),
        (url("recompute_time_based"), {}),
    ]
    for path, data in posts:
        assert client.post(path, data).status_code == 403, path
    assert client.get(url("delete", static)).status_code == 403
    assert member_source_ids(static) == {"a"}
    assert Segment.objects.count() == 2
    assert not Job.objects.exists()
    assert SegmentEvent.objects.count() == 2


def test_other_projects_segments_cannot_be_changed(owner_client):
    project_b = ProjectFactory()
    CustomerFactory(project=project_b, source_id="a")
    theirs = static_segment(project_b, refs=["a"])
    for name in ("members_add", "members_remove", "recompute", "export", "delete"):
        assert owner_client.post(url(name, theirs), {"refs": "a"}).status_code == 404, name
    assert member_source_ids(theirs) == {"a"}


# --- demo data ------------------------------------------------------------------------------


def test_demo_seed_creates_computed_segments_once(project):
    seed_project_data(project)
    seed_project_data(project)  # idempotent

    segments = {s.name: s for s in Segment.objects.filter(project=project)}
    assert sorted(segments) == [
        "Berlin customers",
        "Birthday this month",
        "Spent over 400",
        "VIP list",
    ]
    customers = Customer.objects.filter(project=project)
    berliners = set(customers.filter(address_city="Berlin").values_list("source_id", flat=True))
    big_spenders = set(
        customers.filter(orders_total_amount__gt=40000).values_list("source_id", flat=True)
    )
    assert berliners and member_source_ids(segments["Berlin customers"]) == berliners
    assert big_spenders and member_source_ids(segments["Spent over 400"]) == big_spenders
    assert segments["Birthday this month"].uses_time
    assert len(member_source_ids(segments["VIP list"])) == segments["VIP list"].size == 8
    for segment in segments.values():
        assert segment.initial_sync_status == SyncStatus.DONE
        assert segment.size == len(member_source_ids(segment))
    # each filter segment was computed by its own job, which is done (no worker needed)
    jobs = Job.objects.filter(project=project, type="segment.recompute")
    assert jobs.count() == 3 and set(jobs.values_list("status", flat=True)) == {JobStatus.DONE}
