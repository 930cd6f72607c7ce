"""Metadata schemas (reference §2): list and get, read-only (the dashboard edits them)."""

from ninja import Router

from apps.metadata.models import MetadataSchema

from ..lookups import not_found
from ..serializers import iso

router = Router(tags=["metadata schemas"])

# our definition keys -> Voucherify's
CONSTRAINTS = {
    "min_length": "minLength",
    "max_length": "maxLength",
    "min": "gte",
    "max": "lte",
    "allowed": "eq",
}


def definition(spec: dict) -> dict:
    """One property definition in Voucherify's shape."""
    body = {
        "type": spec.get("type", "string"),
        "array": bool(spec.get("array", False)),
        "optional": bool(spec.get("optional", True)),
        "objectType": None,
        "deleted": False,
    }
    for ours, theirs in CONSTRAINTS.items():
        if spec.get(ours) not in (None, "", []):
            body[theirs] = spec[ours]
    return body


def metadata_schema(schema: MetadataSchema) -> dict:
    return {
        "id": schema.public_id,
        "related_object": schema.related_object,
        "properties": {key: definition(spec) for key, spec in (schema.properties or {}).items()},
        "allow_defined_only": schema.allow_defined_only,
        "created_at": iso(schema.created_at),
        "updated_at": iso(schema.updated_at),
        "object": "metadata_schema",
    }


@router.get("/metadata-schemas", summary="List Metadata Schemas")
def metadata_schemas_list(request):
    schemas = MetadataSchema.objects.filter(project=request.api.project).order_by("related_object")
    data = [metadata_schema(schema) for schema in schemas]
    return {"object": "list", "data_ref": "schemas", "schemas": data, "total": len(data)}


@router.get("/metadata-schemas/{resource}", summary="Get Metadata Schema")
def metadata_schemas_get(request, resource: str):
    schema = MetadataSchema.objects.filter(
        project=request.api.project, related_object=resource
    ).first()
    if schema is None:
        raise not_found("metadata schema", resource)
    return metadata_schema(schema)
