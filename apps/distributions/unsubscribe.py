"""Unsubscribe links: a signed token naming the customer, which needs no login. The signature has
no timestamp, so the link in an old message keeps working."""

import functools

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils import timezone

from apps.customers.models import Customer

SALT = "distributions.unsubscribe"
PLACEHOLDER = "__token__"


def _signer() -> signing.Signer:
    return signing.Signer(salt=SALT)


def unsubscribe_token(customer) -> str:
    return _signer().sign(customer.public_id)


@functools.cache
def _path_pattern() -> str:
    # reverse() once: it costs more than the rest of a message's links together
    return reverse("distributions:unsubscribe", kwargs={"token": PLACEHOLDER})


def unsubscribe_url(customer) -> str:
    path = _path_pattern().replace(PLACEHOLDER, unsubscribe_token(customer))
    return settings.SITE_URL + path


def customer_for_token(token: str) -> Customer | None:
    try:
        public_id = _signer().unsign(token)
    except signing.BadSignature:
        return None
    return Customer.objects.filter(public_id=public_id).select_related("project").first()


def customer_unsubscribe(*, customer: Customer, now=None) -> bool:
    """Opt the customer out of marketing messages; False if they already were."""
    now = now or timezone.now()
    return bool(
        Customer.objects.filter(pk=customer.pk, marketing_opt_out=False).update(
            marketing_opt_out=True, opted_out_at=now, updated_at=now
        )
    )
