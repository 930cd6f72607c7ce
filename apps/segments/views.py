"""The segment screens: the list, a segment's page (summary, size chart, filter in words, members,
entered/left events), static membership by hand, recompute, export and delete.

The create/edit form with its filter builder lives in builder_views.py.

A segment's page has four regions htmx refreshes on its own (`segment_detail.html`):
`#segment-summary` (size, recompute progress, chart; polls while a recompute runs),
`#segment-members` (served by `segment_members`), `#segment-events` and `#segment-add`.
Two client events tie them together: `segmentChanged` (the size changed: the summary reloads)
and `membersChanged` (the member list and the events reload).
"""

import json
from dataclasses import dataclass
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpResponseNotAllowed, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect, trigger_client_event

from apps.core.errors import ApplicationError
from apps.core.htmx import render_page_or_partial
from apps.core.pagination import paginate
from apps.core.shortcuts import get_for_project_or_404
from apps.exports.services import export_start
from apps.projects.models import Role
from apps.projects.permissions import member_required

from . import selectors, services
from .builder import describe_filter
from .fields import customer_fields
from .forms import AddMembersForm
from .models import Segment, SegmentType
from .usage import segment_usages

PAGE_SIZE = 25
MEMBERS_PAGE_SIZE = 25
UNKNOWN_SHOWN = 10
MAX_REMOVE = 1_000  # checkboxes of one page; anything beyond is not a form a person sent
DETAIL = "segments/segment_detail.html"


def _get_segment_or_404(request, segment_id: str) -> Segment:
    return get_for_project_or_404(
        Segment.objects.select_related("project"), request.project, public_id=segment_id
    )


def _redirect(request, url: str):
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


def _detail_url(segment: Segment, query: str = "") -> str:
    url = reverse("segments:detail", args=[segment.public_id])
    return f"{url}?{query}" if query else url


# --- the list --------------------------------------------------------------------------------


@member_required()
def segments(request):
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    q = request.GET.get("q", "").strip()
    page = paginate(
        selectors.segment_list(project=request.project, q=q), request.GET.get("page"), PAGE_SIZE
    )
    query = request.GET.copy()
    query.pop("page", None)
    context = {"page": page, "q": q, "query": query.urlencode()}
    return render_page_or_partial(request, "segments/segment_list.html", context, partial="results")


@member_required()
@require_POST
def segments_recompute_time_based(request):
    jobs = services.segments_recompute_time_based_in_project(
        project=request.project, created_by=request.user
    )
    if jobs:
        count = len(jobs)
        messages.success(
            request,
            f"Recomputing {count} date-based segment{'s' if count != 1 else ''} now; "
            "their sizes update when the jobs finish.",
        )
    else:
        messages.info(request, "No segment of this project depends on the date.")
    return _redirect(request, reverse("segments:list"))


# --- a segment's page ------------------------------------------------------------------------


@member_required()
def segment_detail(request, segment_id: str):
    segment = _get_segment_or_404(request, segment_id)
    if request.method != "GET":  # after the lookup: another project's id is a 404 first
        return HttpResponseNotAllowed(["GET"])
    if request.htmx and request.htmx.target == "segment-events":
        return render(request, f"{DETAIL}#events", _events_context(segment))
    job_id = request.GET.get("job")
    if request.htmx:
        return _summary(request, segment, _job(segment, job_id), polled=bool(job_id))
    return render(request, DETAIL, _detail_context(request, segment))


def _job(segment: Segment, job_id: str | None):
    if not segment.follows_filter:
        return None
    return selectors.segment_recompute_job(segment=segment, job_id=job_id)


def _summary(request, segment: Segment, job, *, polled: bool):
    """The summary region; once the recompute it shows has finished, the member list and the
    events reload too (the region stops polling, so this happens once)."""
    context = {
        "segment": segment,
        "job": job,
        "chart": selectors.segment_size_chart(segment=segment),
    }
    response = render(request, f"{DETAIL}#summary", context)
    if polled and job is not None and job.is_finished:
        trigger_client_event(response, "membersChanged")
    return response


def _events_context(segment: Segment) -> dict:
    tracks_events = segment.type == SegmentType.AUTO_UPDATE
    return {
        "segment": segment,
        "events": selectors.segment_recent_events(segment=segment) if tracks_events else [],
    }


def _members_context(request, segment: Segment) -> dict:
    q = request.GET.get("q", "").strip()
    page = paginate(
        selectors.segment_members(segment=segment, q=q), request.GET.get("page"), MEMBERS_PAGE_SIZE
    )
    query = QueryDict(mutable=True)
    if q:
        query["q"] = q
    page_query = query.copy()
    if page.number > 1:
        page_query["page"] = page.number
    return {
        "segment": segment,
        "members_page": page,
        "members_q": q,
        "members_query": query.urlencode(),  # without the page: for the pager
        "members_page_query": page_query.urlencode(),  # with it: to reload this page
        "can_edit_members": segment.type == SegmentType.STATIC and request.membership.can_write,
    }


def _detail_context(request, segment: Segment, *, add_form=None) -> dict:
    follows_filter = segment.follows_filter
    return {
        **_members_context(request, segment),
        **_events_context(segment),
        "job": _job(segment, request.GET.get("job")),
        "chart": selectors.segment_size_chart(segment=segment),
        "filter_words": describe_filter(
            segment.filter, customer_fields(segment.project), segment.project.currency
        )
        if follows_filter
        else "",
        "filter_json": json.dumps(segment.filter, indent=2, ensure_ascii=False)
        if follows_filter
        else "",
        "add_form": add_form or AddMembersForm(),
    }


@member_required()
def segment_members(request, segment_id: str):
    """The member list region (search, pages). A full page load goes to the segment's page."""
    segment = _get_segment_or_404(request, segment_id)
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    if not request.htmx:
        return redirect(_detail_url(segment, request.GET.urlencode()))
    context = _members_context(request, segment)
    response = render(request, f"{DETAIL}#members", context)
    # the address bar shows the segment's page with this search, so reload and links keep it
    response["HX-Replace-Url"] = _detail_url(segment, context["members_page_query"])
    return response


# --- static membership -------------------------------------------------------------------------


@dataclass(frozen=True)
class AddResult:
    added: int
    unknown: list[str]

    @property
    def level(self) -> str:
        return "warning" if self.unknown else "success"

    @property
    def text(self) -> str:
        if self.added == 0 and not self.unknown:
            return "Added 0: those customers are members already."
        text = f"Added {self.added}."
        if self.unknown:
            shown = ", ".join(self.unknown[:UNKNOWN_SHOWN])
            more = len(self.unknown) - UNKNOWN_SHOWN
            text += f" Not found: {shown}" + (f" (and {more} more)" if more > 0 else "") + "."
        return text


def _only_static(request, segment: Segment):
    messages.error(
        request,
        f"“{segment.name}” follows its filter: only static segments take members by hand.",
    )
    return _redirect(request, _detail_url(segment))


@member_required()
@require_POST
def segment_members_add(request, segment_id: str):
    segment = _get_segment_or_404(request, segment_id)
    if segment.type != SegmentType.STATIC:
        return _only_static(request, segment)
    form = AddMembersForm(request.POST, request.FILES)
    result = None
    if form.is_valid():
        try:
            added, unknown = services.segment_add_members_in_batches(
                segment=segment, refs=form.all_refs()
            )
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            result = AddResult(added=added, unknown=unknown)
    if result is None:  # the form with its errors
        if request.htmx:
            return render(request, f"{DETAIL}#add_members", {"segment": segment, "add_form": form})
        return render(request, DETAIL, _detail_context(request, segment, add_form=form))
    if not request.htmx:
        (messages.warning if result.unknown else messages.success)(request, result.text)
        return redirect(_detail_url(segment))
    context = {"segment": segment, "add_form": AddMembersForm(), "result": result}
    response = render(request, f"{DETAIL}#add_members", context)
    trigger_client_event(response, "segmentChanged")
    trigger_client_event(response, "membersChanged")
    return response


@member_required()
@require_POST
def segment_members_remove(request, segment_id: str):
    segment = _get_segment_or_404(request, segment_id)
    if segment.type != SegmentType.STATIC:
        return _only_static(request, segment)
    chosen = request.POST.getlist("customer")[:MAX_REMOVE]
    if not chosen:
        messages.warning(request, "Select the members to remove first.")
    else:
        pks = selectors.segment_member_pks(segment=segment, customer_ids=chosen)
        removed = services.segment_remove_members(segment=segment, customer_ids=pks)
        messages.success(
            request, f"Removed {removed} member{'s' if removed != 1 else ''} from “{segment.name}”."
        )
    if not request.htmx:
        return redirect(_detail_url(segment, request.GET.urlencode()))
    response = render(request, f"{DETAIL}#members", _members_context(request, segment))
    trigger_client_event(response, "segmentChanged")
    return response


# --- recompute, export, delete -----------------------------------------------------------------


@member_required()
@require_POST
def segment_recompute(request, segment_id: str):
    segment = _get_segment_or_404(request, segment_id)
    if not segment.follows_filter:
        messages.error(request, "A static segment has no filter to recompute.")
        return _redirect(request, _detail_url(segment))
    job = services.segment_recompute_start(segment=segment, created_by=request.user)
    if not request.htmx:
        return redirect(_detail_url(segment, urlencode({"job": job.public_id})))
    # Without a worker (eager tasks) the job has already finished here.
    job.refresh_from_db()
    segment.refresh_from_db()
    return _summary(request, segment, job, polled=True)


@member_required()
@require_POST
def segment_export(request, segment_id: str):
    """Export the members as the customer export filtered to this segment."""
    segment = _get_segment_or_404(request, segment_id)
    try:
        job = export_start(
            project=request.project,
            kind="customers",
            filters=urlencode({"segment": segment.public_id}),
            created_by=request.user,
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return _redirect(request, _detail_url(segment))
    return _redirect(request, reverse("exports:detail", args=[job.public_id]))


@member_required(read=Role.MARKETER)
@require_http_methods(["GET", "POST"])
def segment_delete(request, segment_id: str):
    """GET asks (and says what still uses the segment); POST deletes, or explains why not."""
    segment = _get_segment_or_404(request, segment_id)
    context = {"segment": segment, "error": ""}
    if request.method == "POST":
        try:
            services.segment_delete(segment=segment)
        except ApplicationError as exc:
            context.update(error=exc.message, usages=segment_usages(segment))
            return render(request, "segments/segment_delete.html", context, status=exc.code)
        messages.success(request, f"Segment “{segment.name}” deleted.")
        return _redirect(request, reverse("segments:list"))
    context["usages"] = segment_usages(segment)
    return render(request, "segments/segment_delete.html", context)
