"""Validation rules and their assignments (reference §3.6): Voucherify's rule JSON in and out,
checked by the rules service before anything is stored."""

from datetime import datetime

from django.db.models import Q
from django.http import HttpResponse
from ninja import Router

from apps.core.errors import ApplicationError
from apps.rules import selectors, services
from apps.rules.models import RuleAssignment, ValidationRule

from .. import lookups
from ..listing import invalid_query, ordering, page_of
from ..payload import json_body
from ..shapes.rules import RELATED, assignment, rule

router = Router(tags=["validation rules"])

RULE_ORDER = {"created_at": "created_at", "updated_at": "updated_at", "name": "name"}
ASSIGNMENT_ORDER = {"created_at": "created_at"}
# the older assignment body names the object by its type: {"campaign": "camp_…"}
SHORT_FORMS = ("campaign", "voucher", "promotion_tier")


def _rule(request, rule_id: str) -> ValidationRule:
    queryset = selectors.rule_list(project=request.api.project)
    return lookups.by_id(queryset, request.api.project, rule_id, "validation_rule")


def _assignments(queryset):
    return queryset.select_related(*RELATED)


@router.get("/validation-rules-assignments", summary="List Validation Rules' Assignment(s)")
def assignments_all(
    request,
    related_object_id: str | None = None,
    rule: str | None = None,
    page: int = 1,
    limit: int = 10,
    order: str | None = None,
):
    queryset = RuleAssignment.objects.filter(project=request.api.project)
    if related_object_id:
        queryset = queryset.filter(
            Q(campaign__public_id=related_object_id)
            | Q(voucher__public_id=related_object_id)
            | Q(tier__public_id=related_object_id)
        )
    if rule:
        queryset = queryset.filter(rule__public_id=rule)
    return page_of(
        _assignments(queryset),
        data_ref="data",
        shape=assignment,
        limit=limit,
        page=page,
        order_by=ordering(order, ASSIGNMENT_ORDER, "-created_at"),
    )


@router.get("/validation-rules", summary="List Validation Rules")
def rules_list(
    request,
    limit: int = 10,
    page: int = 1,
    order: str | None = None,
    start_date: datetime | None = None,
    end_date: datetime | None = None,
):
    if start_date and end_date and start_date > end_date:
        raise invalid_query("start_date must not be after end_date.")
    queryset = selectors.rule_list(project=request.api.project)
    if start_date:
        queryset = queryset.filter(created_at__gte=start_date)
    if end_date:
        queryset = queryset.filter(created_at__lte=end_date)
    return page_of(
        queryset,
        data_ref="data",
        shape=rule,
        limit=limit,
        page=page,
        order_by=ordering(order, RULE_ORDER, "-created_at"),
    )


@router.post("/validation-rules", summary="Create Validation Rules")
def rules_create(request):
    created = services.rule_create(project=request.api.project, payload=json_body(request))
    return rule(created, assignments_count=0)


@router.get("/validation-rules/{validation_rule_id}", summary="Get Validation Rule")
def rules_get(request, validation_rule_id: str):
    return rule(_rule(request, validation_rule_id))


@router.put("/validation-rules/{validation_rule_id}", summary="Update Validation Rule")
def rules_update(request, validation_rule_id: str):
    found = _rule(request, validation_rule_id)
    updated = services.rule_update(rule=found, payload=json_body(request))
    return rule(updated)


@router.delete("/validation-rules/{validation_rule_id}", summary="Delete Validation Rule")
def rules_delete(request, validation_rule_id: str):
    services.rule_delete(rule=_rule(request, validation_rule_id))
    return HttpResponse(status=204)


@router.get(
    "/validation-rules/{validation_rule_id}/assignments",
    summary="List Validation Rule Assignments",
)
def rule_assignments_list(
    request, validation_rule_id: str, limit: int = 10, page: int = 1, order: str | None = None
):
    found = _rule(request, validation_rule_id)
    return page_of(
        _assignments(RuleAssignment.objects.filter(rule=found)),
        data_ref="data",
        shape=assignment,
        limit=limit,
        page=page,
        order_by=ordering(order, ASSIGNMENT_ORDER, "-created_at"),
    )


def _target_ref(body: dict) -> tuple[str, str]:
    """(related_object_type, related_object_id) of an assignment body, in either form."""
    if "related_object_type" in body or "related_object_id" in body:
        kind, ref = body.get("related_object_type"), body.get("related_object_id")
    else:
        named = [name for name in SHORT_FORMS if name in body]
        if len(named) != 1:
            raise ApplicationError(
                "Name the object to assign: related_object_type and related_object_id.",
                key="invalid_payload",
                details="related_object_id",
            )
        kind, ref = named[0], body[named[0]]
    if not isinstance(kind, str) or not isinstance(ref, str) or not ref.strip():
        raise ApplicationError(
            "related_object_type and related_object_id must be text.",
            key="invalid_payload",
            details="related_object_id",
        )
    return kind, ref.strip()


@router.post(
    "/validation-rules/{validation_rule_id}/assignments",
    summary="Create Validation Rules Assignments",
)
def rule_assignments_create(request, validation_rule_id: str, force: bool | None = None):
    found = _rule(request, validation_rule_id)
    kind, ref = _target_ref(json_body(request))
    target = services.assignment_resolve(
        project=request.api.project, related_object_type=kind, related_object_id=ref
    )
    created = services.assignment_create(rule=found, target=target)
    return assignment(_assignments(RuleAssignment.objects.filter(pk=created.pk)).get())


@router.delete(
    "/validation-rules/{validation_rule_id}/assignments/{assignment_id}",
    summary="Delete Validation Rule Assignment",
)
def rule_assignments_delete(request, validation_rule_id: str, assignment_id: str):
    found = _rule(request, validation_rule_id)
    item = lookups.by_id(
        RuleAssignment.objects.filter(rule=found),
        request.api.project,
        assignment_id,
        "validation_rules_assignment",
    )
    services.assignment_delete(assignment=item)
    return HttpResponse(status=204)
