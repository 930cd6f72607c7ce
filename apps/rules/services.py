"""Writes for validation rules and their assignments. Every rule is checked before it is stored:
known rule names, operators that fit the name, values of the right kind, segments, products, SKUs
and collections that exist in the project, and a logic expression that parses."""

from django.db import IntegrityError, transaction

from apps.campaigns.models import Campaign, PromotionTier, Voucher
from apps.core.errors import ApplicationError
from apps.engine.logic import LogicError, default_logic, parse_logic
from apps.engine.rules import (
    COUNT,
    ITEMS,
    META,
    MONEY,
    NEEDS_PROPERTY,
    RULE_NAMES,
    SEGMENT,
    SUB_RULE_NAMES,
)
from apps.products.models import Product, ProductCollection, Sku
from apps.segments.models import Segment

from .models import RelatedObject, RuleAssignment, RuleType, ValidationRule

MAX_CONDITIONS = 30
VALUELESS = ("$has_value", "$is_unknown")
APPLICABLE_EFFECTS = (
    "APPLY_TO_EVERY",
    "APPLY_TO_CHEAPEST",
    "APPLY_FROM_CHEAPEST",
    "APPLY_TO_MOST_EXPENSIVE",
    "APPLY_FROM_MOST_EXPENSIVE",
)
TARGET_OBJECTS = {"product": Product, "sku": Sku, "products_collection": ProductCollection}
LIMITS = ("quantity_limit", "aggregated_quantity_limit", "amount_limit", "aggregated_amount_limit")


def _context_types() -> tuple[str, ...]:
    """Voucherify's `context_type` values: where a rule is meant to be used."""
    effects = (
        "discount.apply_to_order",
        "discount.apply_to_items",
        "discount.apply_to_items_proportionally",
        "discount.apply_to_items_proportionally_by_quantity",
        "discount.apply_to_items_by_quantity",
        "discount.fixed.apply_to_items",
        "discount.percent.apply_to_items",
    )
    discounts = (
        "campaign.discount_coupons",
        "campaign.referral_program",
        "campaign.promotion",
        "voucher.discount_voucher",
    )
    gift = ("gift.apply_to_order", "gift.apply_to_items")
    tiers = ("joined", "left", "upgraded", "downgraded", "prolonged")
    events = ("order.paid", "custom_event", "customer.segment.entered")
    orders = ("order.paid", "order.created", "order.canceled", "order.updated")
    return (
        *(f"earning_rule.{event}" for event in events),
        *(f"earning_rule.customer.tier.{change}" for change in tiers),
        *(name for base in discounts for name in (base, *(f"{base}.{e}" for e in effects))),
        *(
            name
            for base in ("campaign.gift_vouchers", "voucher.gift_voucher")
            for name in (base, *(f"{base}.{e}" for e in gift))
        ),
        "campaign.loyalty_program",
        "voucher.loyalty_card",
        "distribution.custom_event",
        *(f"distribution.{event}" for event in orders),
        "reward_assignment.pay_with_points",
        "global",
    )


CONTEXT_TYPES = _context_types()


def _invalid(message: str, where: str) -> ApplicationError:
    return ApplicationError(message, key="invalid_validation_rules", details=where)


class _Refs:
    """Segment, product, SKU and collection ids a rule names, checked in one query per kind."""

    def __init__(self):
        self.wanted: dict[str, dict[str, str]] = {kind: {} for kind in (*TARGET_OBJECTS, "segment")}

    def add(self, kind: str, ref: str, where: str) -> None:
        self.wanted[kind].setdefault(ref, where)

    def check(self, project) -> dict[str, dict[str, object]]:
        found = {}
        models = {**TARGET_OBJECTS, "segment": Segment}
        for kind, refs in self.wanted.items():
            if not refs:
                found[kind] = {}
                continue
            rows = models[kind].objects.filter(project=project, public_id__in=list(refs))
            found[kind] = {row.public_id: row for row in rows}
            for ref, where in refs.items():
                if ref not in found[kind]:
                    label = kind.replace("products_collection", "product collection")
                    raise _invalid(f"{where}: there is no {label} {ref} in this project.", where)
        return found


def clean_rules(project, rules, applicable_to=None) -> tuple[dict, dict]:
    """(rules, applicable_to) ready to store, or ApplicationError naming where it is wrong."""
    refs = _Refs()
    cleaned = _clean_group(rules, "rules", refs, sub_of=None)
    applicable = _clean_applicable(applicable_to or {}, refs)
    found = refs.check(project)
    for part in ("included", "excluded"):
        for target in applicable.get(part, []):
            row = found[target["object"]][target["id"]]
            target["source_id"] = getattr(row, "source_id", None) or None
            if target["object"] == "sku":
                target["product_id"] = row.product.public_id
    return cleaned, applicable


def _clean_group(group, where: str, refs: _Refs, *, sub_of: str | None) -> dict:
    if not isinstance(group, dict):
        raise _invalid(f"{where} must be an object of numbered conditions and a logic.", where)
    numbers = [key for key in group if key != "logic"]
    if not numbers and sub_of is None:
        raise _invalid("A validation rule needs at least one condition.", where)
    if len(numbers) > MAX_CONDITIONS:
        raise _invalid(f"{where} has more than {MAX_CONDITIONS} conditions.", where)
    cleaned = {}
    for number in numbers:
        if not number.isdigit() or number.startswith("0"):
            raise _invalid(f"{where}: condition keys are numbers 1, 2, 3…, not “{number}”.", where)
        cleaned[number] = _clean_condition(group[number], f"{where}.{number}", refs, sub_of)
    if numbers:
        logic = group.get("logic") or default_logic(numbers)
        try:
            parse_logic(str(logic), known=set(numbers))
        except LogicError as exc:
            raise _invalid(f"{where}.logic: {exc}", f"{where}.logic") from exc
        cleaned["logic"] = str(logic)
    return cleaned


def _clean_condition(condition, where: str, refs: _Refs, sub_of: str | None) -> dict:
    if not isinstance(condition, dict):
        raise _invalid(f"{where} must be an object with a name and conditions.", where)
    name = condition.get("name")
    names = SUB_RULE_NAMES if sub_of else RULE_NAMES
    if not isinstance(name, str) or name not in names:
        known = ", ".join(sorted(names))
        raise _invalid(f"{where}.name “{name}” is not a rule name here (one of: {known}).", where)
    kind, _, operators = names[name]
    result: dict = {"name": name}
    if name in NEEDS_PROPERTY:
        prop = condition.get("property")
        if not isinstance(prop, str) or not prop.strip():
            raise _invalid(f"{where}: {name} needs the metadata key in “property”.", where)
        result["property"] = prop.strip()
    conditions = condition.get("conditions")
    if not isinstance(conditions, dict) or not conditions:
        raise _invalid(f"{where}.conditions must name at least one operator.", where)
    result["conditions"] = {}
    for operator, values in conditions.items():
        at = f"{where}.conditions.{operator}"
        if operator not in operators:
            raise _invalid(
                f"{at}: {name} does not take {operator} (use {', '.join(operators)}).", at
            )
        result["conditions"][operator] = _clean_values(kind, operator, values, at, refs, name)
    nested = condition.get("rules")
    if nested:
        if kind != ITEMS:
            raise _invalid(f"{where}: only product, SKU and item conditions take sub-rules.", where)
        result["rules"] = _clean_group(nested, f"{where}.rules", refs, sub_of=name)
    message = _error_message(condition.get("error"), f"{where}.error")
    if message:
        if not isinstance(message, str) or len(message) > 500:
            raise _invalid(f"{where}.error.message must be text of at most 500 characters.", where)
        result["error"] = {"message": message}
    return result


def _clean_values(kind, operator, values, at, refs: _Refs, name: str) -> list:
    if operator in VALUELESS:
        return [True]
    values = values if isinstance(values, list) else [values]
    if not values:
        raise _invalid(f"{at} needs a value.", at)
    if kind in (MONEY, COUNT):
        for value in values:
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                what = "minor units (cents)" if kind == MONEY else "a count"
                raise _invalid(f"{at}: {value!r} is not {what}.", at)
        return [int(value) if float(value).is_integer() else value for value in values]
    if kind == SEGMENT:
        cleaned = []
        for value in values:
            ref = value.get("id") if isinstance(value, dict) else value
            if not isinstance(ref, str) or not ref:
                raise _invalid(f"{at}: segments are named by their seg_ id.", at)
            refs.add("segment", ref, at)
            cleaned.append(ref)
        return cleaned
    if kind == ITEMS:
        default = "sku" if name.startswith("sku.") else "product"
        cleaned = []
        for value in values:
            target = value if isinstance(value, dict) else {"id": value}
            kind_of = target.get("object") or default
            known = isinstance(kind_of, str) and kind_of in TARGET_OBJECTS
            if not known or not isinstance(target.get("id"), str):
                raise _invalid(f"{at}: name products, SKUs or collections as {{object, id}}.", at)
            refs.add(kind_of, target["id"], at)
            cleaned.append({"object": kind_of, "id": target["id"]})
        return cleaned
    if kind == META:
        for value in values:
            if isinstance(value, dict | list):
                raise _invalid(f"{at}: compare metadata with text, numbers or true/false.", at)
        return values
    return [bool(value) for value in values]


def _clean_applicable(data, refs: _Refs) -> dict:
    if not isinstance(data, dict):
        raise _invalid("applicable_to must be {included: [...], excluded: [...]}.", "applicable_to")
    result: dict = {}
    for part in ("included", "excluded"):
        targets = data.get(part) or []
        if not isinstance(targets, list):
            raise _invalid(f"applicable_to.{part} must be a list.", f"applicable_to.{part}")
        cleaned = []
        for i, target in enumerate(targets):
            at = f"applicable_to.{part}.{i}"
            kind = target.get("object") if isinstance(target, dict) else None
            if not isinstance(kind, str) or kind not in TARGET_OBJECTS:
                raise _invalid(f"{at}.object must be product, sku or products_collection.", at)
            if not isinstance(target.get("id"), str) or not target["id"]:
                raise _invalid(f"{at}.id is required.", at)
            refs.add(target["object"], target["id"], at)
            entry = {"object": target["object"], "id": target["id"]}
            if part == "included":
                effect = target.get("effect") or "APPLY_TO_EVERY"
                if effect not in APPLICABLE_EFFECTS:
                    raise _invalid(
                        f"{at}.effect must be one of {', '.join(APPLICABLE_EFFECTS)}.", at
                    )
                entry["effect"] = effect
                for limit in LIMITS:
                    value = target.get(limit)
                    if value is None:
                        continue
                    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                        raise _invalid(f"{at}.{limit} must be a whole number, 0 or more.", at)
                    entry[limit] = value
            cleaned.append(entry)
        if cleaned:
            result[part] = cleaned
    if data.get("included_all"):
        result["included_all"] = True
    return result


def _fields(project, payload: dict, *, rule: ValidationRule | None) -> dict:
    fields = {}
    if rule is None or "name" in payload:
        name = payload.get("name")
        if not isinstance(name, str) or not name.strip() or len(name.strip()) > 255:
            raise _invalid("name is required (at most 255 characters).", "name")
        taken = ValidationRule.objects.filter(project=project, name=name.strip())
        if rule is not None:
            taken = taken.exclude(pk=rule.pk)
        if taken.exists():
            raise ApplicationError(
                f"A validation rule named “{name.strip()}” already exists.",
                key="duplicate_found",
                code=409,
                details="name",
            )
        fields["name"] = name.strip()
    if rule is None or "rules" in payload or "applicable_to" in payload:
        rules = payload.get("rules", rule.rules if rule else None)
        applicable = payload.get("applicable_to", rule.applicable_to if rule else None)
        fields["rules"], fields["applicable_to"] = clean_rules(project, rules, applicable)
    if "error" in payload:
        fields["error_message"] = _error_message(payload["error"], "error")
    if payload.get("type"):
        if payload["type"] not in RuleType.values:
            raise _invalid(f"type must be one of {', '.join(RuleType.values)}.", "type")
        fields["type"] = payload["type"]
    if payload.get("context_type"):
        if payload["context_type"] not in CONTEXT_TYPES:
            raise _invalid(
                "context_type must be one of Voucherify's contexts, e.g. global or "
                "campaign.discount_coupons.",
                "context_type",
            )
        fields["context_type"] = payload["context_type"]
    return fields


def _error_message(error, where: str) -> str:
    """The text of an `error: {message}` object ("" when there is none)."""
    if error is None or error == "":
        return ""
    if not isinstance(error, dict):
        raise _invalid(f"{where} must be an object: {{message}}.", where)
    message = error.get("message") or ""
    if not isinstance(message, str) or len(message) > 500:
        raise _invalid(f"{where}.message must be text of at most 500 characters.", where)
    return message


def rule_create(*, project, payload: dict) -> ValidationRule:
    fields = _fields(project, payload, rule=None)
    try:
        with transaction.atomic():
            return ValidationRule.objects.create(project=project, **fields)
    except IntegrityError as exc:
        raise ApplicationError(
            f"A validation rule named “{fields['name']}” already exists.",
            key="duplicate_found",
            code=409,
            details="name",
        ) from exc


def rule_update(*, rule: ValidationRule, payload: dict) -> ValidationRule:
    fields = _fields(rule.project, payload, rule=rule)
    for field, value in fields.items():
        setattr(rule, field, value)
    rule.save()
    return rule


def rule_delete(*, rule: ValidationRule) -> None:
    """Deleting a rule removes its assignments: the codes and tiers it guarded become free of it."""
    rule.delete()


def assignment_create(*, rule: ValidationRule, target) -> RuleAssignment:
    """Attach `rule` to a campaign, voucher or promotion tier of the same project."""
    field = {Campaign: "campaign", Voucher: "voucher", PromotionTier: "tier"}.get(type(target))
    if field is None or target.project_id != rule.project_id:
        raise ApplicationError("Rules attach to campaigns, vouchers and promotion tiers.")
    try:
        with transaction.atomic():
            return RuleAssignment.objects.create(
                project_id=rule.project_id, rule=rule, **{field: target}
            )
    except IntegrityError as exc:
        raise ApplicationError(
            f"{rule.name} is already assigned to {target}.", key="duplicate_found", code=409
        ) from exc


def assignment_resolve(*, project, related_object_type: str, related_object_id: str):
    """The campaign, voucher (id or code) or tier an API assignment names."""
    from apps.campaigns.services.publications import resolve_campaign, resolve_voucher

    if related_object_type == RelatedObject.CAMPAIGN:
        return resolve_campaign(project, related_object_id)
    if related_object_type == RelatedObject.VOUCHER:
        return resolve_voucher(project, related_object_id)
    if related_object_type == RelatedObject.PROMOTION_TIER:
        tier = PromotionTier.objects.filter(project=project, public_id=related_object_id).first()
        if tier is None:
            raise ApplicationError(
                f"Cannot find promotion_tier with id {related_object_id}", key="not_found", code=404
            )
        return tier
    raise _invalid(
        "related_object_type must be campaign, voucher or promotion_tier.", "related_object_type"
    )


def assignment_delete(*, assignment: RuleAssignment) -> None:
    assignment.delete()
