"""Creating and editing a segment: the filter builder and its live preview.

One view serves the form. `_action` says what a POST is for: "save", or a builder change
("add-c:<group>", "add-g:<group>", "remove:<node>", "json" to load the JSON editor's text,
"refresh" after a field changed). htmx posts builder changes and swaps only the builder; without
JavaScript the same buttons submit the whole form. The preview is a separate POST that answers
with the count, the first customers and, out of band, each condition's error and the JSON.
"""

import json

from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from apps.core.conditions import FilterError, compile_filter
from apps.core.errors import ApplicationError
from apps.core.filters import project_zone
from apps.core.shortcuts import get_for_project_or_404
from apps.customers.models import Customer
from apps.projects.permissions import member_required

from . import services
from .builder import (
    Condition,
    Group,
    Vocabulary,
    apply_action,
    describe_filter,
    prepare,
    tree_from_filter,
    tree_from_form,
    tree_to_filter,
)
from .fields import customer_fields
from .models import Segment, SegmentType

PREVIEW_SAMPLE = 10
STARTER = {"junction": "and", "address.city": {"conditions": {"$is": [""]}}}


class SegmentForm(forms.Form):
    name = forms.CharField(max_length=255)
    type = forms.ChoiceField(
        choices=[
            (SegmentType.AUTO_UPDATE, "Auto-update: follows the filter, with entered/left events"),
            (SegmentType.PASSIVE, "Passive: follows the filter, without events"),
            (SegmentType.STATIC, "Static: a fixed list of customers"),
        ],
        widget=forms.RadioSelect,
        initial=SegmentType.AUTO_UPDATE,
    )
    customers = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
        label="Customers",
        help_text="Source ids or customer ids, one per line or separated by commas. "
        "You can add more, or upload a CSV, on the segment's page.",
    )

    def __init__(self, *args, segment: Segment | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if segment is not None:
            self.fields["type"].disabled = True
            self.fields["type"].initial = segment.type
            del self.fields["customers"]

    def refs(self) -> list[str]:
        text = self.cleaned_data.get("customers") or ""
        return [ref.strip() for ref in text.replace(",", "\n").splitlines() if ref.strip()]


@member_required()
@require_http_methods(["GET", "POST"])
def segment_form(request, segment_id: str | None = None):
    segment = None
    if segment_id is not None:
        segment = get_for_project_or_404(
            Segment.objects.select_related("project"), request.project, public_id=segment_id
        )
    vocabulary = Vocabulary(request.project, customer_fields(request.project))
    data = request.POST if request.method == "POST" else None
    initial = {"name": segment.name, "type": segment.type} if segment else {}
    form = SegmentForm(data, segment=segment, initial=initial)
    action = (data or {}).get("_action", "save")
    kind = segment.type if segment else (data or {}).get("type", SegmentType.AUTO_UPDATE)
    builder = _builder(data, action, vocabulary, segment)
    if data is not None and action == "save":
        saved = _save(request, form, builder, segment, kind, vocabulary)
        if saved is not None:
            verb = "saved" if segment else "created"
            note = " Its members are being computed." if saved.follows_filter else ""
            messages.success(request, f"Segment “{saved.name}” {verb}.{note}")
            url = reverse("segments:detail", args=[saved.public_id])
            return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    prepare(builder.root, vocabulary)
    context = {
        "form": form,
        "segment": segment,
        "kind": kind,
        "builder": builder,
        "field_groups": vocabulary.field_groups(),
    }
    if request.htmx and data is not None and action != "save":
        response = render(request, "segments/form.html#definition", context)
        response["HX-Trigger-After-Settle"] = "builder-changed"  # refresh the preview
        return response
    return render(request, "segments/form.html", context)


class BuilderState:
    """The builder as shown: the tree, the JSON it makes, and any error about the whole."""

    def __init__(self, root: Group, json_text: str = "", error: str = "", filter=None):
        self.root = root
        self.json_text = json_text
        self.error = error
        self.filter = filter


def _builder(data, action: str, vocabulary: Vocabulary, segment) -> BuilderState:
    if data is None:  # a fresh form: the segment's filter, or one empty condition to start
        source = segment.filter if segment and segment.filter else STARTER
        root = tree_from_filter(source, vocabulary)
        return _state(root, vocabulary, quiet=segment is None)
    if action == "json":
        text = data.get("filter_json", "")
        try:
            root = tree_from_filter(json.loads(text), vocabulary)
        except ValueError as exc:  # JSONDecodeError and FilterError alike
            state = _state(tree_from_form(data), vocabulary, quiet=True)
            state.json_text = text
            state.error = f"The JSON could not be loaded: {_reason(exc)}"
            return state
        return _state(root, vocabulary)
    root = tree_from_form(data)
    apply_action(root, action if action != "save" else "", vocabulary)
    return _state(root, vocabulary, quiet=action not in ("save", "refresh"))


def _reason(exc: ValueError) -> str:
    return exc.message if isinstance(exc, FilterError) else str(exc)


def _state(root: Group, vocabulary: Vocabulary, *, quiet: bool = False) -> BuilderState:
    """Compile the tree; `quiet` drops row errors of a tree the marketer has not finished."""
    zone = project_zone(vocabulary.project)
    try:
        result = tree_to_filter(root, vocabulary, zone=zone)
    except FilterError as exc:
        if quiet:
            for node in root.walk():
                if isinstance(node, Condition):
                    node.error = ""
            return BuilderState(root, json_text="", error="")
        return BuilderState(root, error=exc.message)
    return BuilderState(root, json_text=json.dumps(result, indent=2), filter=result)


def _save(request, form, builder: BuilderState, segment, kind, vocabulary):
    if not form.is_valid():
        return None
    follows_filter = kind != SegmentType.STATIC
    if follows_filter and builder.filter is None:
        if not builder.error:
            builder.error = "Fix the marked conditions."
        return None
    try:
        if segment is not None:
            return services.segment_update(
                segment=segment,
                name=form.cleaned_data["name"],
                filter=builder.filter if follows_filter else None,
                updated_by=request.user,
            )
        if not follows_filter:
            segment = services.segment_create(
                project=request.project,
                name=form.cleaned_data["name"],
                type=SegmentType.STATIC,
                created_by=request.user,
            )
            unknown = services.segment_add_members(segment=segment, refs=form.refs())
            if unknown:
                shown = ", ".join(unknown[:10]) + (
                    f" and {len(unknown) - 10} more" if len(unknown) > 10 else ""
                )
                messages.warning(request, f"Not found, so not added: {shown}.")
            return segment
        return services.segment_create(
            project=request.project,
            name=form.cleaned_data["name"],
            type=kind,
            filter=builder.filter,
            created_by=request.user,
        )
    except ApplicationError as exc:
        if exc.details == "filter":
            builder.error = exc.message
        elif exc.details in ("name", "type"):
            form.add_error(exc.details, exc.message)
        else:
            form.add_error(None, exc.message)
    return None


@member_required()
@require_POST
def segment_preview(request):
    """The live preview: how many customers the filter being edited matches, and the first few.
    Each condition's error and the filter JSON are sent along as out-of-band swaps."""
    vocabulary = Vocabulary(request.project, customer_fields(request.project))
    root = tree_from_form(request.POST)
    zone = project_zone(request.project)
    context = {"root": root, "error": "", "count": None, "sample": []}
    try:
        result = tree_to_filter(root, vocabulary, zone=zone)
        matches = Customer.objects.filter(project=request.project).filter(
            compile_filter(result, vocabulary.fields, zone=zone)
        )
    except FilterError as exc:
        context["error"] = exc.message
    else:
        context["json_text"] = json.dumps(result, indent=2)
        context["words"] = describe_filter(result, vocabulary.fields, vocabulary.currency)
        context["count"] = matches.count()
        # Unordered: the database stops at the first ten matches instead of sorting them all.
        context["sample"] = sorted(
            matches.order_by()[:PREVIEW_SAMPLE], key=lambda c: c.name or c.source_id or ""
        )
    context["conditions"] = [node for node in root.walk() if isinstance(node, Condition)]
    return render(request, "segments/_builder_preview.html", context)
