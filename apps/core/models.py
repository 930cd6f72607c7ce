"""Base model pieces shared by every domain app."""

import string

from django.db import models
from django.utils import timezone

PUBLIC_ID_ALPHABET = string.ascii_letters + string.digits
PUBLIC_ID_LENGTH = 24  # 62**24 ≈ 1.0e43: unguessable, and collisions never happen in practice


def make_public_id(prefix: str) -> str:
    from .ids import random_chars  # ids builds on this module's constants

    return f"{prefix}_{random_chars(PUBLIC_ID_ALPHABET, PUBLIC_ID_LENGTH)}"


class PublicIdField(models.CharField):
    """A Voucherify-style public id (`cust_…`, `camp_…`) generated when the object is built.

    Internal primary keys stay integers for fast joins; only this value leaves the database.
    """

    def __init__(self, *args, prefix: str, **kwargs):
        self.prefix = prefix
        kwargs.setdefault("max_length", len(prefix) + 1 + PUBLIC_ID_LENGTH + 8)
        kwargs.setdefault("unique", True)
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["prefix"] = self.prefix
        if not self._unique:
            kwargs["unique"] = False  # the default here is True, so it must be written out
        return name, path, args, kwargs

    def has_default(self) -> bool:
        return True

    def get_default(self) -> str:
        return make_public_id(self.prefix)


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class ProjectScopedModel(TimeStampedModel):
    """Every domain row belongs to exactly one project; lookups always filter by it."""

    project = models.ForeignKey(
        "projects.Project", on_delete=models.CASCADE, related_name="%(app_label)s_%(class)s_set"
    )

    class Meta:
        abstract = True


class MetadataModel(models.Model):
    metadata = models.JSONField(default=dict, blank=True)

    class Meta:
        abstract = True
