"""Writes for customers and custom events.

Every path that receives a customer (dashboard form, API, CSV import, order, event) goes through
`clean_customer_data` and `customer_upsert`, so the same rules apply everywhere.
"""

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction

from apps.core.errors import ApplicationError
from apps.core.hooks import customers_changed
from apps.metadata.models import Resource
from apps.metadata.services import Schema, schema_for

from .models import PROFILE_FIELDS, Customer, CustomerErasure, CustomEvent

ADDRESS_KEYS = ("line_1", "line_2", "city", "state", "postal_code", "country")
MAX_LENGTHS = {
    field.name: field.max_length
    for field in Customer._meta.get_fields()
    if getattr(field, "max_length", None) and field.name in PROFILE_FIELDS
}


def flatten_customer_payload(payload: dict) -> dict:
    """Voucherify's nested shape (`address: {city, ...}`) → our flat field names."""
    data = {key: value for key, value in payload.items() if key != "address"}
    address = payload.get("address")
    if isinstance(address, dict):
        for key in ADDRESS_KEYS:
            if key in address:
                data[f"address_{key}"] = address[key]
    if "birthday" in data and "birthdate" not in data:  # deprecated alias
        data["birthdate"] = data.pop("birthday")
    return data


def clean_customer_data(data: dict, *, schema: Schema) -> tuple[dict, dict[str, str]]:
    """Check and normalise profile fields. Returns (cleaned, errors by field name).

    Only keys present in `data` are returned, so partial updates stay partial; explicit nulls
    clear a field.
    """
    cleaned: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for field in PROFILE_FIELDS:
        if field not in data:
            continue
        value = data[field]
        if field == "metadata":
            if value is None:
                cleaned["metadata"] = {}
                continue
            problems = schema.errors(value)
            if problems:
                for problem in problems:
                    errors[f"metadata.{problem.key}" if problem.key else "metadata"] = (
                        problem.message
                    )
            else:
                cleaned["metadata"] = value
            continue
        if field == "birthdate":
            if value in (None, ""):
                cleaned["birthdate"] = None
            elif isinstance(value, dt.date):
                cleaned["birthdate"] = value
            else:
                try:
                    cleaned["birthdate"] = dt.date.fromisoformat(str(value).strip()[:10])
                except ValueError:
                    errors["birthdate"] = f"“{value}” is not a date; use YYYY-MM-DD"
            continue
        text = "" if value is None else str(value).strip()
        if field == "email" and text:
            text = text.lower()
            try:
                validate_email(text)
            except ValidationError:
                errors["email"] = f"“{value}” is not a valid email address"
                continue
        limit = MAX_LENGTHS.get(field)
        if limit and len(text) > limit:
            errors[field] = f"is longer than {limit} characters"
            continue
        cleaned[field] = text
    return cleaned, errors


def _raise_invalid(errors: dict[str, str]) -> None:
    if errors:
        metadata_only = all(key.startswith("metadata") for key in errors)
        raise ApplicationError(
            "; ".join(f"{key}: {message}" for key, message in errors.items()),
            key="metadata_validation_failed" if metadata_only else "invalid_customer",
            details=", ".join(errors),
            extra={"fields": errors},
        )


def _clean_source_id(source_id) -> str | None:
    if source_id is None:
        return None
    source_id = str(source_id).strip()
    if not source_id:
        return None
    if len(source_id) > 255:
        raise ApplicationError("source_id is longer than 255 characters", key="invalid_customer")
    return source_id


def customer_create(
    *, project, data: dict, source_id: str | None = None, source: str = "api"
) -> Customer:
    cleaned, errors = clean_customer_data(
        data, schema=schema_for(project=project, resource=Resource.CUSTOMER)
    )
    _raise_invalid(errors)
    customer = Customer(
        project=project,
        source_id=_clean_source_id(source_id),
        system_metadata={"source": source},
        **cleaned,
    )
    try:
        with transaction.atomic():
            customer.save()
    except IntegrityError as exc:
        raise ApplicationError(
            f"A customer with source_id “{source_id}” already exists.",
            key="duplicate_found",
            code=409,
        ) from exc
    customers_changed(project.pk, [customer.pk])
    return customer


def customer_update(*, customer: Customer, data: dict) -> Customer:
    """Change profile fields. A missing source_id may be set once; a set one never changes."""
    if "source_id" in data:
        new = _clean_source_id(data["source_id"])
        if customer.source_id and new != customer.source_id:
            raise ApplicationError(
                "source_id cannot be changed once set.", key="invalid_customer", details="source_id"
            )
        if new and not customer.source_id:
            customer.source_id = new
    cleaned, errors = clean_customer_data(
        data, schema=schema_for(project=customer.project, resource=Resource.CUSTOMER)
    )
    _raise_invalid(errors)
    for field, value in cleaned.items():
        setattr(customer, field, value)
    try:
        with transaction.atomic():
            customer.save()
    except IntegrityError as exc:
        raise ApplicationError(
            f"A customer with source_id “{customer.source_id}” already exists.",
            key="duplicate_found",
            code=409,
        ) from exc
    customers_changed(customer.project_id, [customer.pk])
    return customer


def customer_upsert(
    *, project, source_id: str, data: dict, source: str = "api"
) -> tuple[Customer, bool]:
    """Create the customer with this source_id, or update the given fields. -> (customer, created)

    Safe under concurrency: the unique (project, source_id) constraint decides who creates.
    """
    source_id = _clean_source_id(source_id)
    if source_id is None:
        return customer_create(project=project, data=data, source=source), True
    schema = schema_for(project=project, resource=Resource.CUSTOMER)
    cleaned, errors = clean_customer_data(data, schema=schema)
    _raise_invalid(errors)
    existing = Customer.objects.filter(project=project, source_id=source_id).first()
    if existing is None:
        try:
            with transaction.atomic():
                created = Customer.objects.create(
                    project=project,
                    source_id=source_id,
                    system_metadata={"source": source},
                    **cleaned,
                )
            customers_changed(project.pk, [created.pk])
            return created, True
        except IntegrityError:
            existing = Customer.objects.get(project=project, source_id=source_id)
    changed = [field for field, value in cleaned.items() if getattr(existing, field) != value]
    if changed:
        for field in changed:
            setattr(existing, field, cleaned[field])
        existing.save(update_fields=[*changed, "updated_at"])
        customers_changed(project.pk, [existing.pk])
    return existing, False


def customer_resolve(*, project, payload: dict | None) -> Customer | None:
    """A customer referenced in a request (`{id}` or `{source_id, ...attributes}`): look it up by
    id, or upsert it by source_id, as Voucherify does for orders, redemptions and events."""
    if not payload:
        return None
    if not isinstance(payload, dict):
        raise ApplicationError("customer must be an object", key="invalid_customer")
    public_id = payload.get("id")
    data = flatten_customer_payload(
        {k: v for k, v in payload.items() if k not in ("id", "source_id", "object")}
    )
    if public_id:
        customer = Customer.objects.filter(project=project, public_id=public_id).first()
        if customer is None:
            raise ApplicationError(
                f"Cannot find customer with id {public_id}",
                key="not_found",
                code=404,
                extra={"resource_id": public_id, "resource_type": "customer"},
            )
        return customer_update(customer=customer, data=data) if data else customer
    source_id = payload.get("source_id")
    if not source_id:
        return customer_create(project=project, data=data)
    customer, _ = customer_upsert(project=project, source_id=source_id, data=data)
    return customer


def customer_delete(*, customer: Customer) -> None:
    """Remove the customer. Orders stay (their customer becomes empty); events go with them."""
    customer.delete()


def customer_permanently_delete(*, customer: Customer) -> CustomerErasure:
    """GDPR erasure: personal data and events are deleted, orders and redemptions are kept but
    anonymised, and a receipt records what was erased, not who."""
    with transaction.atomic():
        counts = {
            "events": CustomEvent.objects.filter(customer=customer).count(),
            "orders": customer.orders.count(),
        }
        receipt = CustomerErasure.objects.create(
            project=customer.project, customer_public_id=customer.public_id, counts=counts
        )
        customer.delete()  # orders and order events: SET_NULL; custom events: CASCADE
    return receipt


def custom_event_track(
    *, project, name: str, customer: dict, metadata: dict | None = None
) -> CustomEvent:
    name = (name or "").strip()
    if not name:
        raise ApplicationError("event name is required", key="invalid_payload", details="event")
    if len(name) > 255:
        raise ApplicationError("event name is longer than 255 characters", key="invalid_payload")
    if not customer:
        raise ApplicationError("customer is required", key="missing_customer", details="customer")
    if metadata is not None and not isinstance(metadata, dict):
        raise ApplicationError(
            "metadata must be an object", key="invalid_payload", details="metadata"
        )
    with transaction.atomic():
        resolved = customer_resolve(project=project, payload=customer)
        event = CustomEvent.objects.create(
            project=project, name=name, customer=resolved, metadata=metadata or {}
        )
        customers_changed(project.pk, [resolved.pk])
        return event
