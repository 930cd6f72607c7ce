"""Reads for validation rules: lists, who uses a segment, and rules read out in words."""

from django.db.models import Count, QuerySet

from apps.core.money import format_money
from apps.engine.rules import ITEMS, MONEY, RULE_NAMES, SEGMENT, SUB_RULE_NAMES

from .models import RuleAssignment, ValidationRule

OPERATOR_WORDS = {
    "$is": "is",
    "$is_not": "is not",
    "$in": "is one of",
    "$not_in": "is none of",
    "$more_than": "is more than",
    "$more_than_or_equal": "is at least",
    "$less_than": "is less than",
    "$less_than_or_equal": "is at most",
    "$starts_with": "starts with",
    "$ends_with": "ends with",
    "$contains": "contains",
    "$not_contain": "does not contain",
    "$has_value": "has a value",
    "$is_unknown": "has no value",
}
ITEM_WORDS = {
    "$is": "contains",
    "$in": "contains any of",
    "$is_not": "does not contain",
    "$not_in": "contains none of",
}


def rule_list(*, project) -> QuerySet[ValidationRule]:
    return ValidationRule.objects.filter(project=project).annotate(
        assignments_count=Count("assignments")
    )


def rule_assignments(*, rule: ValidationRule) -> QuerySet[RuleAssignment]:
    return rule.assignments.select_related("campaign", "voucher", "tier__campaign")


def assignments_for(*, target) -> QuerySet[RuleAssignment]:
    """The rules on a campaign, voucher or tier (the page that shows "rules in words")."""
    field = {"Campaign": "campaign", "Voucher": "voucher", "PromotionTier": "tier"}[
        type(target).__name__
    ]
    return RuleAssignment.objects.filter(**{field: target}).select_related("rule")


def _segments_named(group: dict) -> set[str]:
    found = set()
    for key, condition in group.items():
        if key == "logic" or not isinstance(condition, dict):
            continue
        if condition.get("name") == "customer.segment":
            for values in (condition.get("conditions") or {}).values():
                found.update(v for v in values if isinstance(v, str))
        found |= _segments_named(condition.get("rules") or {})
    return found


def rules_using_segment(segment) -> list[str]:
    return [
        f"validation rule {rule.name}"
        for rule in ValidationRule.objects.filter(project_id=segment.project_id).only(
            "name", "rules"
        )
        if segment.public_id in _segments_named(rule.rules or {})
    ]


def rule_in_words(rule: ValidationRule, *, currency: str, names: dict | None = None) -> list[str]:
    """One sentence per condition ("order amount is at least $100.00"), then the logic.
    `names` maps seg_/prod_/sku_/pc_ ids to display names where the caller has them."""
    sentences = _group_words(rule.rules or {}, currency, names or {}, sub=False)
    numbers = [key for key in (rule.rules or {}) if key != "logic"]
    if len(numbers) > 1:
        sentences.append(f"Logic: {rule.rules.get('logic') or ' and '.join(numbers)}")
    for part, verb in (("included", "Applies to"), ("excluded", "Never applies to")):
        targets = (rule.applicable_to or {}).get(part)
        if targets:
            sentences.append(f"{verb} " + ", ".join(_target(t, names or {}) for t in targets))
    return sentences


def _target(target: dict, names: dict) -> str:
    label = names.get(target.get("id")) or target.get("id")
    extra = []
    effect = target.get("effect")
    if effect and effect != "APPLY_TO_EVERY":
        extra.append(effect.replace("APPLY_", "").replace("_", " ").lower())
    for limit in ("quantity_limit", "aggregated_quantity_limit"):
        if target.get(limit) is not None:
            extra.append(f"{limit.replace('_', ' ')} {target[limit]}")
    return label + (f" ({', '.join(extra)})" if extra else "")


def _group_words(group: dict, currency: str, names: dict, *, sub: bool) -> list[str]:
    sentences = []
    for key in sorted((k for k in group if k != "logic"), key=int):
        condition = group[key]
        spec = (SUB_RULE_NAMES if sub else RULE_NAMES).get(condition.get("name")) or RULE_NAMES.get(
            condition.get("name")
        )
        if spec is None:
            continue
        kind, label, _ = spec
        if condition.get("property"):
            label = f"{label} “{condition['property']}”"
        parts = []
        for operator, values in (condition.get("conditions") or {}).items():
            if kind == ITEMS:
                shown = ", ".join(names.get(v.get("id"), v.get("id")) for v in values)
                parts.append(f"{label} {ITEM_WORDS.get(operator, operator)} {shown}")
                continue
            if kind == SEGMENT:
                shown = ", ".join(names.get(v, v) for v in values)
                verb = "is in" if operator in ("$is", "$in") else "is not in"
                parts.append(f"customer {verb} segment {shown}")
                continue
            shown = ", ".join(
                format_money(v, currency) if kind == MONEY and isinstance(v, int) else str(v)
                for v in values
            )
            if operator in ("$has_value", "$is_unknown"):
                shown = ""
            parts.append(f"{label} {OPERATOR_WORDS.get(operator, operator)} {shown}".strip())
        text = f"{key}. " + " and ".join(parts)
        nested = condition.get("rules") or {}
        if [k for k in nested if k != "logic"]:
            text += " — with " + "; ".join(_group_words(nested, currency, names, sub=True))
        if (condition.get("error") or {}).get("message"):
            text += f" (message: “{condition['error']['message']}”)"
        sentences.append(text)
    return sentences
