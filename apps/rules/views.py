"""The validation-rule screens: the list, the rule builder (create and edit), a rule's page with
its assignments, delete, and the "rules in words" sections of campaign, voucher and tier pages.

The builder form (`rules/rule_form.html`) posts its changes here with `_action` ("add",
"remove:2", "add-clause:2", "add-sub:2", "add-target:included", "refresh" …; see builder.py) and
gets the builder region back; "save" saves. While the marketer types, the whole form is posted to
`rule_preview`, which answers with the rule in words and, out of band, the JSON, each row's error
and the logic's status; the logic input also asks `logic_check` on its own.

The sections on campaign, voucher and tier pages are served by `campaign_rules`, `voucher_rules`
and `tier_rules`, loaded with `hx-get` (rules/_assigned.html), so apps/campaigns never imports
this app above it.
"""

import json
import re

from django.contrib import messages
from django.db.models import Q
from django.http import HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect, trigger_client_event

from apps.campaigns.models import Campaign, CampaignType, PromotionTier, Voucher
from apps.core.errors import ApplicationError
from apps.core.htmx import render_page_or_partial
from apps.core.pagination import paginate
from apps.core.shortcuts import get_for_project_or_404
from apps.projects.models import Role
from apps.projects.permissions import member_required

from . import selectors, services
from .builder import (
    EFFECT_LABELS,
    Builder,
    BuilderError,
    Vocabulary,
    apply_action,
    builder_from_form,
    builder_from_json,
    builder_to_json,
    compile_rules,
    display_names,
    logic_problem,
    normalise,
    place_error,
    prepare,
    starter,
)
from .forms import RuleForm
from .models import RelatedObject, RuleAssignment, ValidationRule

PAGE_SIZE = 25
CHOICES_LIMIT = 500  # campaigns, tiers and rules offered in a select
FORM = "rules/rule_form.html"
DETAIL = "rules/rule_detail.html"
SECTION = "rules/_assigned.html#card"
EMPTY_SENTENCE = re.compile(r"^\d+\.\s*$")
PICKER_FIELD = re.compile(r"^(c-\d+(\.\d+)?-v\d+|t-(included|excluded)-\d+-ref)$")


def _get_rule_or_404(request, rule_id: str) -> ValidationRule:
    return get_for_project_or_404(
        ValidationRule.objects.select_related("project"), request.project, public_id=rule_id
    )


def _redirect(request, url: str):
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


def _words(rule: ValidationRule, project, names: dict) -> list[str]:
    return selectors.rule_in_words(rule, currency=project.currency, names=names)


# --- the list --------------------------------------------------------------------------------


@member_required()
@require_GET
def rule_list(request):
    q = request.GET.get("q", "").strip()
    rules = selectors.rule_list(project=request.project).order_by("name", "id")
    if q:
        rules = rules.filter(name__icontains=q)
    page = paginate(rules, request.GET.get("page"), PAGE_SIZE)
    names = display_names(request.project, page.object_list)
    rows = [(rule, _words(rule, request.project, names)) for rule in page]
    query = request.GET.copy()
    query.pop("page", None)
    context = {"page": page, "rows": rows, "q": q, "query": query.urlencode()}
    return render_page_or_partial(request, "rules/rule_list.html", context, partial="results")


# --- the builder -------------------------------------------------------------------------------


@member_required(read=Role.MARKETER)
@require_http_methods(["GET", "POST"])
def rule_form(request, rule_id: str | None = None):
    rule = _get_rule_or_404(request, rule_id) if rule_id is not None else None
    vocabulary = Vocabulary(request.project)
    data = request.POST if request.method == "POST" else None
    initial = {"name": rule.name, "error_message": rule.error_message} if rule else {}
    form = RuleForm(data, initial=initial)
    action = data.get("_action", "save") if data is not None else ""
    if data is None:
        builder = (
            builder_from_json(rule.rules, rule.applicable_to, currency=vocabulary.currency)
            if rule
            else starter()
        )
    else:
        builder = builder_from_form(data)
        apply_action(builder, "" if action == "save" else action)
    save_failed = False
    if action == "save":
        saved = _save(request, form, builder, rule, vocabulary)
        if saved is not None:
            messages.success(
                request, f"Validation rule “{saved.name}” {'saved' if rule else 'created'}."
            )
            return _redirect(request, reverse("rules:detail", args=[saved.public_id]))
        save_failed = True
    prepare(builder, vocabulary)
    context = {
        "form": form,
        "rule": rule,
        "builder": builder,
        "name_groups": vocabulary.name_groups(),
        "effects": list(EFFECT_LABELS.items()),
        "builder_url": request.path,
        "save_failed": save_failed,
        **_logic_context(builder.logic, len(builder.rows), builder.logic_error),
    }
    if request.htmx and data is not None and action != "save":
        response = render(request, f"{FORM}#builder", context)
        response["HX-Trigger-After-Settle"] = "builder-changed"  # refresh the preview
        return response
    return render(request, FORM, context)


def _save(request, form, builder: Builder, rule, vocabulary) -> ValidationRule | None:
    form_ok = form.is_valid()
    try:
        rules, applicable = builder_to_json(builder, vocabulary)
    except BuilderError:
        return None
    if not form_ok:
        return None
    payload = {
        "name": form.cleaned_data["name"],
        "rules": rules,
        "applicable_to": applicable,
        "error": {"message": form.cleaned_data["error_message"]},
    }
    try:
        if rule is not None:
            return services.rule_update(rule=rule, payload=payload)
        return services.rule_create(project=request.project, payload=payload)
    except ApplicationError as exc:
        if exc.details == "name":
            form.add_error("name", exc.message)
        elif exc.details == "error":
            form.add_error("error_message", exc.message)
        elif not place_error(builder, exc.details, exc.message):
            builder.error = exc.message
    return None


def _logic_context(logic: str, count: int, error: str = "") -> dict:
    """The logic's status line: OK, or the problem with the character it points at."""
    message, position = logic_problem(logic, count) if logic.strip() else ("", None)
    if not message and error:  # an error the service found (the builder checks the same)
        message = error
    context = {"logic_ok": not message, "logic_message": message, "logic_text": logic}
    if position is not None:
        context["logic_parts"] = (
            logic[:position],
            logic[position : position + 1],
            logic[position + 1 :],
        )
        context["logic_position"] = position + 1
    return context


@member_required()
@require_POST
def rule_preview(request):
    """The live preview of the rule being written: the rule in words, and out of band the JSON
    the form will save, each row's and target's error and the logic's status."""
    vocabulary = Vocabulary(request.project)
    builder = builder_from_form(request.POST)
    normalise(builder)
    rules, applicable = compile_rules(builder, vocabulary)
    for row in builder.walk():
        if row.missing:  # not filled in yet: said on save, not while typing
            row.error = ""
    for target in builder.targets():
        if not target.ref:
            target.error = ""
    complete = not builder.has_errors and not any(row.missing for row in builder.walk())
    if complete:
        try:
            rules, applicable = services.clean_rules(request.project, rules, applicable)
        except ApplicationError as exc:
            if not place_error(builder, exc.details, exc.message):
                builder.error = exc.message
            complete = False
    form = RuleForm(request.POST)
    form.is_valid()
    document = {"name": (form.cleaned_data.get("name") or "").strip()}
    if form.cleaned_data.get("error_message"):
        document["error"] = {"message": form.cleaned_data["error_message"]}
    document.update(rules=rules, applicable_to=applicable)
    shown = ValidationRule(rules=rules, applicable_to=applicable)
    words = _words(shown, request.project, display_names(request.project, [shown]))
    context = {
        "builder": builder,
        "complete": complete,
        "json_text": json.dumps(document, indent=2, ensure_ascii=False),
        # a condition without values yet reads as its bare number: leave it out
        "words": [sentence for sentence in words if not EMPTY_SENTENCE.match(sentence)],
        **_logic_context(builder.logic, len(builder.rows)),
    }
    return render(request, "rules/_preview.html", context)


@member_required()
@require_GET
def logic_check(request):
    """The logic's status as it is typed: `logic` against the rows named by `row`."""
    logic = request.GET.get("logic", "")
    count = len([key for key in request.GET.getlist("row") if key.isdigit()])
    return render(request, "rules/_logic_status.html", _logic_context(logic, count))


@member_required()
@require_GET
def target_search(request):
    """A product/SKU/collection picker's options narrowed by `q`, keeping what is selected."""
    field = request.GET.get("field", "")
    if not PICKER_FIELD.match(field):
        return HttpResponse("")
    vocabulary = Vocabulary(request.project)
    selected = [ref for ref in request.GET.getlist(field) if ref]
    q = request.GET.get("q", "").strip()[:100]
    context = {
        "name": field,
        "dom": request.GET.get("dom", "")
        if re.fullmatch(r"[\w-]+", request.GET.get("dom", ""))
        else "",
        "multiple": field.startswith("c-"),
        "groups": vocabulary.target_groups(selected, q),
        "q": q,
    }
    return render(request, "rules/_items_select.html", context)


# --- a rule's page -------------------------------------------------------------------------------


def _rule_document(rule: ValidationRule) -> dict:
    """The rule as Voucherify shows it."""
    return {
        "id": rule.public_id,
        "name": rule.name,
        "type": rule.type,
        "context_type": rule.context_type,
        "error": {"message": rule.error_message} if rule.error_message else {},
        "rules": rule.rules,
        "applicable_to": rule.applicable_to or {"included": [], "excluded": []},
        "created_at": rule.created_at.isoformat(),
        "updated_at": rule.updated_at.isoformat(),
        "object": "validation_rules",
    }


def _assignments_context(request, rule: ValidationRule, *, error: str = "", done: str = "") -> dict:
    assignments = list(selectors.rule_assignments(rule=rule))
    context = {"rule": rule, "assignments": assignments, "assign_error": error, "assign_done": done}
    if request.membership.can_write:
        taken_campaigns = {a.campaign_id for a in assignments if a.campaign_id}
        taken_tiers = {a.tier_id for a in assignments if a.tier_id}
        campaigns = Campaign.objects.filter(project=request.project).exclude(pk__in=taken_campaigns)
        tiers = (
            PromotionTier.objects.filter(project=request.project)
            .exclude(pk__in=taken_tiers)
            .select_related("campaign")
            .order_by("campaign__name", "hierarchy", "id")
        )
        context["campaign_choices"] = list(campaigns.order_by("name")[:CHOICES_LIMIT])
        context["tier_choices"] = list(tiers[:CHOICES_LIMIT])
    return context


@member_required()
def rule_detail(request, rule_id: str):
    rule = _get_rule_or_404(request, rule_id)
    if request.method != "GET":  # after the lookup: another project's id is a 404 first
        return HttpResponseNotAllowed(["GET"])
    names = display_names(request.project, [rule])
    context = {
        **_assignments_context(request, rule),
        "words": _words(rule, request.project, names),
        "rule_json": json.dumps(_rule_document(rule), indent=2, ensure_ascii=False),
    }
    return render(request, DETAIL, context)


ASSIGN_PROMPTS = {
    RelatedObject.CAMPAIGN: "Choose a campaign.",
    RelatedObject.VOUCHER: "Enter a voucher code.",
    RelatedObject.PROMOTION_TIER: "Choose a promotion tier.",
}


@member_required()
@require_POST
def rule_assign(request, rule_id: str):
    """Attach the rule to a campaign, a voucher (by code) or a promotion tier of the project."""
    rule = _get_rule_or_404(request, rule_id)
    kind = request.POST.get("related_object_type", "")
    ref = request.POST.get("related_object_id", "").strip()
    error = done = ""
    if kind not in ASSIGN_PROMPTS:
        error = "Choose a campaign, a voucher or a promotion tier."
    elif not ref:
        error = ASSIGN_PROMPTS[kind]
    else:
        try:
            target = services.assignment_resolve(
                project=request.project, related_object_type=kind, related_object_id=ref
            )
            services.assignment_create(rule=rule, target=target)
        except ApplicationError as exc:
            error = _assign_error(exc, kind, ref)
        else:
            done = f"“{rule.name}” now applies to {_describe(target)}."
    if request.htmx:
        context = _assignments_context(request, rule, error=error, done=done)
        return render(request, f"{DETAIL}#assignments", context)
    (messages.error if error else messages.success)(request, error or done)
    return redirect("rules:detail", rule_id=rule.public_id)


def _assign_error(exc: ApplicationError, kind: str, ref: str) -> str:
    if exc.key == "not_found":
        what = {
            "voucher": "voucher with the code",
            "campaign": "campaign",
            "promotion_tier": "tier",
        }
        return f"There is no {what.get(kind, kind)} “{ref}” in this project."
    return exc.message


def _describe(target) -> str:
    if isinstance(target, Voucher):
        return f"the voucher {target.code}"
    if isinstance(target, PromotionTier):
        return f"the tier “{target.name}”"
    return f"the campaign “{target.name}”"


@member_required()
@require_POST
def rule_unassign(request, rule_id: str, assignment_id: str):
    rule = _get_rule_or_404(request, rule_id)
    assignment = get_for_project_or_404(
        RuleAssignment.objects.filter(rule=rule).select_related("campaign", "voucher", "tier"),
        request.project,
        public_id=assignment_id,
    )
    target = assignment.related_object
    services.assignment_delete(assignment=assignment)
    done = f"“{rule.name}” no longer applies to {_describe(target)}."
    if request.htmx:
        if request.htmx.target == "rule-assignments":
            context = _assignments_context(request, rule, done=done)
            return render(request, f"{DETAIL}#assignments", context)
        response = HttpResponse("")
        trigger_client_event(response, "rulesChanged")  # the sections on other pages reload
        return response
    messages.success(request, done)
    back = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        return redirect(back)
    return redirect("rules:detail", rule_id=rule.public_id)


@member_required(read=Role.MARKETER)
@require_http_methods(["GET", "POST"])
def rule_delete(request, rule_id: str):
    """GET asks (and lists what the rule guards); POST deletes it and its assignments."""
    rule = _get_rule_or_404(request, rule_id)
    if request.method == "POST":
        services.rule_delete(rule=rule)
        messages.success(request, f"Validation rule “{rule.name}” deleted.")
        return _redirect(request, reverse("rules:list"))
    context = {"rule": rule, "assignments": list(selectors.rule_assignments(rule=rule))}
    return render(request, "rules/rule_delete.html", context)


# --- "rules in words" on campaign, voucher and tier pages -------------------------------------


@member_required()
@require_http_methods(["GET", "POST"])
def campaign_rules(request, campaign_id: str):
    campaign = get_for_project_or_404(Campaign, request.project, public_id=campaign_id)
    return _section(request, campaign, reverse("campaigns:detail", args=[campaign.public_id]))


@member_required()
@require_http_methods(["GET", "POST"])
def voucher_rules(request, voucher_id: str):
    voucher = get_for_project_or_404(
        Voucher.objects.select_related("campaign"), request.project, public_id=voucher_id
    )
    return _section(request, voucher, reverse("campaigns:voucher_detail", args=[voucher.public_id]))


@member_required()
@require_http_methods(["GET", "POST"])
def tier_rules(request, tier_id: str):
    tier = get_for_project_or_404(
        PromotionTier.objects.select_related("campaign"), request.project, public_id=tier_id
    )
    return _section(request, tier, reverse("campaigns:tier_edit", args=[tier.public_id]))


def _section(request, target, page_url: str):
    """The section a page loads; POST assigns the chosen rule to the page's object. Opened
    directly, the address goes to that page."""
    error = done = ""
    if request.method == "POST":
        ref = request.POST.get("rule", "")
        rule = (
            get_for_project_or_404(ValidationRule, request.project, public_id=ref) if ref else None
        )
        if rule is None:
            error = "Choose a validation rule."
        else:
            try:
                services.assignment_create(rule=rule, target=target)
            except ApplicationError as exc:
                error = exc.message
            else:
                done = f"“{rule.name}” now applies here."
        if not request.htmx:
            (messages.error if error else messages.success)(request, error or done)
            return redirect(page_url)
    elif not request.htmx:
        return redirect(page_url)
    return render(request, SECTION, _section_context(request, target, page_url, error, done))


def _section_context(request, target, page_url: str, error: str, done: str) -> dict:
    own = list(selectors.assignments_for(target=target))
    groups = [{"title": "", "assignments": own, "removable": True}]
    if isinstance(target, Campaign) and target.campaign_type == CampaignType.PROMOTION:
        by_tier = (
            RuleAssignment.objects.filter(project=request.project, tier__campaign=target)
            .select_related("rule", "tier")
            .order_by("tier__hierarchy", "tier_id", "id")
        )
        tiers: dict = {}
        for assignment in by_tier:
            tiers.setdefault(assignment.tier, []).append(assignment)
        for tier, assignments in tiers.items():
            title = f"Tier “{tier.name}”"
            groups.append({"title": title, "assignments": assignments, "removable": True})
    elif not isinstance(target, Campaign) and target.campaign_id:
        inherited = list(selectors.assignments_for(target=target.campaign))
        if inherited:
            title = f"From the campaign “{target.campaign.name}”"
            groups.append({"title": title, "assignments": inherited, "removable": False})
    rules = [a.rule for group in groups for a in group["assignments"]]
    names = display_names(request.project, rules)
    for group in groups:
        group["rows"] = [(a, _words(a.rule, request.project, names)) for a in group["assignments"]]
    context = {
        "target": target,
        "groups": groups,
        "count": len(rules),
        "section_url": request.path,
        "page_url": page_url,
        "error": error,
        "done": done,
    }
    if request.membership.can_write:
        assigned = {a.rule_id for a in own}
        choices = ValidationRule.objects.filter(project=request.project).exclude(Q(pk__in=assigned))
        context["rule_choices"] = list(choices.order_by("name")[:CHOICES_LIMIT])
    return context
