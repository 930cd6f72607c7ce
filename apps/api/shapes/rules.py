"""Validation rules and their assignments in Voucherify's shapes (reference §3.6).

Other objects embed assignments as `validation_rules_assignments` lists: `assignments_list()`.
"""

from apps.rules.models import RuleAssignment, ValidationRule

from ..serializers import iso

RELATED = ("rule", "campaign", "voucher", "tier")


def _target(entry: dict) -> dict:
    """An applicable_to entry; the SDK requires `effect` on excluded entries too."""
    return {"effect": "APPLY_TO_EVERY", **entry}


def rule(r: ValidationRule, *, assignments_count: int | None = None) -> dict:
    if assignments_count is None:
        assignments_count = getattr(r, "assignments_count", None)
    if assignments_count is None:
        assignments_count = r.assignments.count()
    applicable = r.applicable_to or {}
    return {
        "id": r.public_id,
        "name": r.name,
        "rules": r.rules or {},
        "error": {"message": r.error_message} if r.error_message else None,
        "applicable_to": {
            "included": [_target(t) for t in applicable.get("included", [])],
            "excluded": [_target(t) for t in applicable.get("excluded", [])],
            "included_all": bool(applicable.get("included_all")),
        },
        "type": r.type,
        "context_type": r.context_type,
        "assignments_count": assignments_count,
        "created_at": iso(r.created_at),
        "updated_at": iso(r.updated_at),
        "object": "validation_rules",
    }


def assignment(a: RuleAssignment) -> dict:
    """One assignment; its rule and related object should be select_related (`RELATED`)."""
    return {
        "id": a.public_id,
        "rule_id": a.rule.public_id,
        "related_object_id": a.related_object.public_id,
        "related_object_type": a.related_object_type.value,
        "created_at": iso(a.created_at),
        "object": "validation_rules_assignment",
    }


def assignments_list(items: list[dict]) -> dict:
    """The `validation_rules_assignments` list another object embeds."""
    return {"object": "list", "data_ref": "data", "data": items, "total": len(items)}
