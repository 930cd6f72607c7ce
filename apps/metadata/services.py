from dataclasses import dataclass, field

from apps.core.errors import ApplicationError

from .models import MetadataSchema
from .validation import MetadataError, validate_metadata


@dataclass(frozen=True)
class Schema:
    """A resource's schema, loaded once and reused for every row of an import."""

    properties: dict = field(default_factory=dict)
    allow_defined_only: bool = False

    def errors(self, metadata) -> list[MetadataError]:
        return validate_metadata(
            metadata, self.properties, allow_defined_only=self.allow_defined_only
        )

    def check(self, metadata) -> dict:
        """Return the metadata (a dict) or raise ApplicationError naming every bad key."""
        errors = self.errors(metadata)
        if errors:
            raise ApplicationError(
                "; ".join(str(error) for error in errors),
                key="metadata_validation_failed",
                details=", ".join(f"metadata.{error.key}" for error in errors),
                extra={"fields": {f"metadata.{e.key}": e.message for e in errors}},
            )
        return metadata or {}


def schema_for(*, project, resource: str) -> Schema:
    row = MetadataSchema.objects.filter(project=project, related_object=resource).first()
    if row is None:
        return Schema()
    return Schema(properties=row.properties, allow_defined_only=row.allow_defined_only)


def metadata_schema_save(
    *, project, resource: str, properties: dict, allow_defined_only: bool
) -> MetadataSchema:
    schema, _ = MetadataSchema.objects.update_or_create(
        project=project,
        related_object=resource,
        defaults={"properties": properties, "allow_defined_only": allow_defined_only},
    )
    return schema
