"""Writes for customers and custom events.

Every path that receives a customer (dashboard form, API, CSV import, order, event) goes through
`clean_customer_data` and `customer_upsert`, so the same rules apply everywhere.
"""

import copy
import datetime as dt
import re
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, validate_email
from django.db import IntegrityError, transaction

from apps.core import events
from apps.core.errors import ApplicationError
from apps.core.hooks import customers_changed
from apps.jobs.models import Job
from apps.jobs.services import job_create, job_fail, job_finish, job_progress, job_start
from apps.metadata.models import Resource
from apps.metadata.services import Schema, schema_for

from .models import PROFILE_FIELDS, Customer, CustomerErasure, CustomEvent

ADDRESS_KEYS = ("line_1", "line_2", "city", "state", "postal_code", "country")
MAX_LENGTHS = {
    field.name: field.max_length
    for field in Customer._meta.get_fields()
    if getattr(field, "max_length", None) and field.name in PROFILE_FIELDS
}


# Django's own email patterns, compiled once: `validate_email` reaches them through lazy objects,
# a cost an import of a million rows pays a million times. `_email_ok` accepts exactly what
# `validate_email` accepts on its common path; anything else goes to `validate_email` itself.
_EMAIL_USER = re.compile(EmailValidator.user_regex.pattern, EmailValidator.user_regex.flags)
_EMAIL_DOMAIN = re.compile(EmailValidator.domain_regex.pattern, EmailValidator.domain_regex.flags)


def _email_ok(value: str) -> bool:
    if len(value) > 320 or "@" not in value:
        return False
    user_part, domain_part = value.rsplit("@", 1)
    return bool(_EMAIL_USER.match(user_part)) and (
        domain_part in validate_email.domain_allowlist or bool(_EMAIL_DOMAIN.match(domain_part))
    )


# (field, max length or 0, plain text: no rule but trimming and the length)
_FIELD_RULES = tuple(
    (field, MAX_LENGTHS.get(field) or 0, field not in ("metadata", "birthdate", "email"))
    for field in PROFILE_FIELDS
)


def flatten_customer_payload(payload: dict) -> dict:
    """Voucherify's nested shape (`address: {city, ...}`) → our flat field names."""
    data = {key: value for key, value in payload.items() if key != "address"}
    address = payload.get("address")
    if address is not None and not isinstance(address, dict):
        raise ApplicationError(
            "address must be an object", key="invalid_customer", details="address"
        )
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
    for field, limit, plain in _FIELD_RULES:
        if field not in data:
            continue
        value = data[field]
        if plain and value.__class__ is str:
            # the common case (an import runs it a million times): plain text, trimmed
            text = value.strip()
            if limit and len(text) > limit:
                errors[field] = f"is longer than {limit} characters"
            else:
                cleaned[field] = text
            continue
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
            elif not isinstance(value, str):
                errors["birthdate"] = f"“{value}” is not a date; use YYYY-MM-DD"
            else:
                try:
                    cleaned["birthdate"] = dt.date.fromisoformat(value.strip()[:10])
                except ValueError:
                    errors["birthdate"] = f"“{value}” is not a date; use YYYY-MM-DD"
            continue
        if value is not None and not isinstance(value, str):
            errors[field] = f"must be text (got {type(value).__name__})"
            continue
        text = "" if value is None else value.strip()
        if field == "email" and text:
            text = text.lower()
            if not _email_ok(text):
                try:
                    validate_email(text)
                except ValidationError:
                    errors["email"] = f"“{value}” is not a valid email address"
                    continue
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
    if not isinstance(source_id, str):
        raise ApplicationError(
            "source_id must be text", key="invalid_customer", details="source_id"
        )
    source_id = source_id.strip()
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
    events.emit(project.pk, "customer.created", customer)
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
    events.emit(customer.project_id, "customer.updated", customer)
    return customer


def customer_upsert(
    *, project, source_id: str, data: dict, source: str = "api", notify: bool = True
) -> tuple[Customer, bool]:
    """Create the customer with this source_id, or update the given fields. -> (customer, created)

    Safe under concurrency: the unique (project, source_id) constraint decides who creates.
    `notify=False` leaves `customers_changed` to the caller (bulk updates notify once).
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
            if notify:
                customers_changed(project.pk, [created.pk])
            events.emit(project.pk, "customer.created", created)
            return created, True
        except IntegrityError:
            existing = Customer.objects.get(project=project, source_id=source_id)
    changed = [field for field, value in cleaned.items() if getattr(existing, field) != value]
    if changed:
        for field in changed:
            setattr(existing, field, cleaned[field])
        existing.save(update_fields=[*changed, "updated_at"])
        if notify:
            customers_changed(project.pk, [existing.pk])
        events.emit(project.pk, "customer.updated", existing)
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
    with transaction.atomic():
        # the event shows the customer as it was (delete() clears the instance's pk)
        events.emit(customer.project_id, "customer.deleted", copy.copy(customer))
        customer.delete()


def customer_permanently_delete(*, customer: Customer) -> CustomerErasure:
    """GDPR erasure: personal data and events are deleted, orders and redemptions are kept but
    anonymised, and a receipt records what was erased, not who."""
    with transaction.atomic():
        counts = {
            "events": CustomEvent.objects.filter(customer=customer).count(),
            "orders": customer.orders.count(),
            # memberships of segments (the segments app sits above: the reverse relation)
            "segments": customer.segment_memberships.count(),
        }
        receipt = CustomerErasure.objects.create(
            project=customer.project, customer_public_id=customer.public_id, counts=counts
        )
        customer.delete()  # orders and order events: SET_NULL; custom events: CASCADE
        # personal data is gone: the event names the customer by id only
        events.emit(receipt.project_id, "customer.deleted", receipt)
    return receipt


def custom_event_track(
    *, project, name: str, customer: dict, metadata: dict | None = None
) -> CustomEvent:
    if name is not None and not isinstance(name, str):
        raise ApplicationError("event name must be text", key="invalid_payload", details="event")
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
        events.emit(project.pk, "customer.custom_event", event, customer=resolved)
        return event


# --- bulk updates (the API's async actions) -----------------------------------------------------

BULK_UPDATE_JOB = "customers.bulk_update"  # the async action CUSTOMERS.BULK_UPDATE
METADATA_UPDATE_JOB = "customers.metadata_update"  # CUSTOMERS.METADATA_UPDATE
MAX_BULK = 10_000  # customers (or source_ids) in one request
PROGRESS_EVERY = 200


def _bulk_refused(message: str, details: str) -> ApplicationError:
    return ApplicationError(message, key="invalid_payload", details=details)


def customers_bulk_update_start(*, project, customers) -> Job:
    """Check the shape of a bulk upsert (a list of customer objects, each with a source_id) and
    start a job that upserts them by source_id after commit. Field values are checked per
    customer by the job, which reports the ones it refused."""
    from .tasks import customers_bulk_update_task

    if not isinstance(customers, list) or not customers:
        raise _bulk_refused("Send a non-empty list of customers.", "body")
    if len(customers) > MAX_BULK:
        raise _bulk_refused(f"At most {MAX_BULK} customers at a time.", "body")
    for index, item in enumerate(customers):
        if not isinstance(item, dict):
            raise _bulk_refused(f"customers[{index}] must be an object.", f"[{index}]")
        source_id = item.get("source_id")
        if not isinstance(source_id, str) or not source_id.strip():
            raise _bulk_refused(
                f"customers[{index}] needs a source_id (text).", f"[{index}].source_id"
            )
    with transaction.atomic():
        job = job_create(
            project=project,
            type=BULK_UPDATE_JOB,
            total=len(customers),
            params={"customers": customers},
        )
        customers_bulk_update_task.delay_on_commit(job.pk)
    return job


def customers_bulk_update(*, job_id: int) -> None:
    """The job's body: upsert every customer by source_id; one refused customer does not stop
    the others. Idempotent: a finished job is not run again, and upserting twice is harmless."""
    if not job_start(job_id=job_id):
        return
    job = Job.objects.select_related("project").get(pk=job_id)
    project = job.project
    results, changed = [], []
    try:
        for index, item in enumerate(job.params.get("customers", []), start=1):
            source_id = item.get("source_id")
            data = flatten_customer_payload(
                {k: v for k, v in item.items() if k not in ("id", "source_id", "object")}
            )
            try:
                customer, created = customer_upsert(
                    project=project, source_id=source_id, data=data, notify=False
                )
            except ApplicationError as exc:
                results.append({"source_id": source_id, "updated": False, "error": exc.message})
            else:
                changed.append(customer.pk)
                results.append({"source_id": source_id, "updated": True, "created": created})
            if index % PROGRESS_EVERY == 0:
                job_progress(job_id=job_id, processed=index)
    except Exception as exc:
        job_fail(job_id=job_id, error=str(exc))
        raise
    customers_changed(project.pk, changed)
    job_finish(job_id=job_id, result=_bulk_result(results))


def _bulk_result(results: list[dict]) -> dict:
    failed = sum(1 for result in results if "error" in result)
    return {"results": results, "done_count": len(results) - failed, "failed_count": failed}


def customers_metadata_update_start(*, project, source_ids, metadata) -> Job:
    """Start a job that merges `metadata` into the metadata of the customers with these
    source_ids (keys not given stay as they are)."""
    from .tasks import customers_metadata_update_task

    if not isinstance(source_ids, list) or not source_ids:
        raise _bulk_refused("source_ids must be a non-empty list.", "source_ids")
    if len(source_ids) > MAX_BULK:
        raise _bulk_refused(f"At most {MAX_BULK} source_ids at a time.", "source_ids")
    if not all(isinstance(value, str) and value.strip() for value in source_ids):
        raise _bulk_refused("Every source_id must be non-empty text.", "source_ids")
    if not isinstance(metadata, dict) or not metadata:
        raise _bulk_refused("metadata must be a non-empty object.", "metadata")
    with transaction.atomic():
        job = job_create(
            project=project,
            type=METADATA_UPDATE_JOB,
            total=len(source_ids),
            params={"source_ids": list(dict.fromkeys(source_ids)), "metadata": metadata},
        )
        customers_metadata_update_task.delay_on_commit(job.pk)
    return job


def customers_metadata_update(*, job_id: int) -> None:
    """The job's body: merge the metadata into each customer's, checked against the schema per
    customer; unknown source_ids are reported, not created. Idempotent (a merge applied twice
    is the same merge)."""
    if not job_start(job_id=job_id):
        return
    job = Job.objects.select_related("project").get(pk=job_id)
    project = job.project
    source_ids, metadata = job.params.get("source_ids", []), job.params.get("metadata", {})
    schema = schema_for(project=project, resource=Resource.CUSTOMER)
    results, changed = [], []
    try:
        for start in range(0, len(source_ids), PROGRESS_EVERY):
            batch = source_ids[start : start + PROGRESS_EVERY]
            found = {
                customer.source_id: customer
                for customer in Customer.objects.filter(project=project, source_id__in=batch)
            }
            with transaction.atomic():
                for source_id in batch:
                    customer = found.get(source_id)
                    if customer is None:
                        results.append(
                            {"source_id": source_id, "updated": False, "error": "not found"}
                        )
                        continue
                    merged = {**customer.metadata, **metadata}
                    problems = schema.errors(merged)
                    if problems:
                        message = "; ".join(str(problem) for problem in problems)
                        results.append({"source_id": source_id, "updated": False, "error": message})
                        continue
                    if merged != customer.metadata:
                        customer.metadata = merged
                        customer.save(update_fields=["metadata", "updated_at"])
                        changed.append(customer.pk)
                    results.append({"source_id": source_id, "updated": True})
            job_progress(job_id=job_id, processed=start + len(batch))
    except Exception as exc:
        job_fail(job_id=job_id, error=str(exc))
        raise
    customers_changed(project.pk, changed)
    job_finish(job_id=job_id, result=_bulk_result(results))
