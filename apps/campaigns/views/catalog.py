"""Categories and campaign templates: list, create, edit, delete; save a campaign as a template
and start a campaign (or a promotion tier) from one."""

from django.contrib import messages
from django.db.models import Count, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from apps.core.errors import ApplicationError
from apps.core.htmx import render_page_or_partial
from apps.core.pagination import paginate
from apps.core.shortcuts import get_for_project_or_404
from apps.projects.models import Role
from apps.projects.permissions import member_required

from .. import services
from ..discounts import describe_discount
from ..forms import (
    CategoryForm,
    TemplateCampaignForm,
    TemplateSaveForm,
    TemplateTierForm,
)
from ..models import (
    Campaign,
    CampaignTemplate,
    CampaignType,
    Category,
    PromotionTier,
    Voucher,
)

PAGE_SIZE = 50


def _count_of(model, field: str):
    """How many `model` rows point at the category (a subquery, so counts never multiply)."""
    rows = (
        model.objects.filter(**{field: OuterRef("pk")})
        .order_by()
        .values(field)
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(rows, output_field=IntegerField()), Value(0))


def _categories(project):
    return Category.objects.filter(project=project).annotate(
        campaigns_count=_count_of(Campaign, "category"),
        vouchers_count=_count_of(Voucher, "category"),
        tiers_count=_count_of(PromotionTier, "category"),
    )


@member_required()
@require_http_methods(["GET", "POST"])
def category_list(request):
    form = CategoryForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            category = services.category_create(project=request.project, payload=form.payload())
        except ApplicationError as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, f"Category “{category.name}” created.")
            return redirect("campaigns:categories")
    page = paginate(_categories(request.project), request.GET.get("page"), PAGE_SIZE)
    context = {"page": page, "form": form}
    return render_page_or_partial(
        request, "campaigns/catalog/category_list.html", context, partial="results"
    )


def _get_category_or_404(request, category_id: str) -> Category:
    return get_for_project_or_404(Category, request.project, public_id=category_id)


@member_required(read=Role.MARKETER)
@require_http_methods(["GET", "POST"])
def category_edit(request, category_id: str):
    category = _get_category_or_404(request, category_id)
    form = CategoryForm(request.POST or None, category=category)
    if request.method == "POST" and form.is_valid():
        try:
            services.category_update(category=category, payload=form.payload())
        except ApplicationError as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, f"Category “{category.name}” saved.")
            return redirect("campaigns:categories")
    return render(
        request, "campaigns/catalog/category_form.html", {"form": form, "category": category}
    )


@member_required()
@require_POST
def category_delete(request, category_id: str):
    category = _get_category_or_404(request, category_id)
    services.category_delete(category=category)
    messages.success(
        request,
        f"Category “{category.name}” deleted; its campaigns, vouchers and tiers remain "
        "without a category.",
    )
    return redirect("campaigns:categories")


# --- templates --------------------------------------------------------------------------------


def _get_template_or_404(request, template_id: str) -> CampaignTemplate:
    return get_for_project_or_404(CampaignTemplate, request.project, public_id=template_id)


def template_discount(template: CampaignTemplate) -> dict | None:
    """The discount a template can give a promotion tier (as services.tier_from_template)."""
    config = template.config or {}
    discount = (config.get("voucher") or {}).get("discount")
    if discount is None:
        tiers = (config.get("promotion") or {}).get("tiers") or []
        discount = tiers[0]["action"]["discount"] if tiers else None
    return discount


@member_required()
def template_list(request):
    templates = CampaignTemplate.objects.filter(project=request.project).order_by("name")
    page = paginate(templates, request.GET.get("page"), PAGE_SIZE)
    return render_page_or_partial(
        request, "campaigns/catalog/template_list.html", {"page": page}, partial="results"
    )


@member_required(read=Role.MARKETER)
@require_http_methods(["GET", "POST"])
def template_save(request, campaign_id: str):
    campaign = get_for_project_or_404(
        Campaign.objects.select_related("project", "category"),
        request.project,
        public_id=campaign_id,
    )
    form = TemplateSaveForm(
        request.POST or None,
        initial={"name": f"{campaign.name} template", "description": campaign.description},
    )
    if request.method == "POST" and form.is_valid():
        try:
            template = services.template_create(
                campaign=campaign,
                name=form.cleaned_data["name"],
                description=form.cleaned_data.get("description") or "",
            )
        except ApplicationError as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, f"Template “{template.name}” saved.")
            return redirect("campaigns:templates")
    return render(
        request, "campaigns/catalog/template_save.html", {"form": form, "campaign": campaign}
    )


@member_required(read=Role.MARKETER)
@require_http_methods(["GET", "POST"])
def template_use(request, template_id: str):
    """A new campaign from the template, or (for a template with a discount) a new tier of a
    promotion campaign. The POST's `action` says which form was sent."""
    template = _get_template_or_404(request, template_id)
    discount = template_discount(template)
    action = request.POST.get("action") if request.method == "POST" else None
    campaign_form = TemplateCampaignForm(
        request.POST if action == "campaign" else None, template=template, project=request.project
    )
    tier_form = None
    if discount is not None:
        tier_form = TemplateTierForm(
            request.POST if action == "tier" else None, project=request.project
        )
    if action == "campaign" and campaign_form.is_valid():
        try:
            campaign = services.campaign_from_template(
                template=template, payload=campaign_form.payload(), created_by=request.user
            )
        except ApplicationError as exc:
            campaign_form.add_service_error(exc)
        else:
            messages.success(request, f"Campaign “{campaign.name}” created from the template.")
            return redirect("campaigns:detail", campaign_id=campaign.public_id)
    elif action == "tier" and tier_form is not None and tier_form.is_valid():
        campaign = get_for_project_or_404(
            Campaign.objects.select_related("project"),
            request.project,
            public_id=tier_form.cleaned_data["campaign"],
            campaign_type=CampaignType.PROMOTION,
        )
        payload = {}
        if (tier_form.cleaned_data.get("tier_name") or "").strip():
            payload["name"] = tier_form.cleaned_data["tier_name"].strip()
        try:
            tier = services.tier_from_template(
                template=template, campaign=campaign, payload=payload
            )
        except ApplicationError as exc:
            tier_form.add_service_error(exc)
        else:
            messages.success(request, f"Tier “{tier.name}” added to “{campaign.name}”.")
            return redirect("campaigns:detail", campaign_id=campaign.public_id)
    context = {
        "template": template,
        "campaign_form": campaign_form,
        "tier_form": tier_form,
        "discount_text": describe_discount(discount, request.project.currency) if discount else "",
    }
    return render(request, "campaigns/catalog/template_use.html", context)


@member_required()
@require_POST
def template_delete(request, template_id: str):
    template = _get_template_or_404(request, template_id)
    services.template_delete(template=template)
    messages.success(request, f"Template “{template.name}” deleted; campaigns made from it stay.")
    return redirect("campaigns:templates")
