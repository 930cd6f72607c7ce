import pytest
from django.urls import reverse

from apps.metadata.models import MetadataSchema
from apps.projects.models import Role

pytestmark = pytest.mark.django_db


def formset(rows, allow_defined_only=False):
    data = {"keys-TOTAL_FORMS": str(len(rows)), "keys-INITIAL_FORMS": "0"}
    for i, row in enumerate(rows):
        for key, value in row.items():
            data[f"keys-{i}-{key}"] = value
    if allow_defined_only:
        data["allow_defined_only"] = "on"
    return data


def test_define_a_schema(owner_client, project):
    response = owner_client.post(
        reverse("metadata:edit", args=["customer"]),
        formset(
            [
                {"key": "tier", "type": "string", "required": "on", "allowed": "Gold, Silver"},
                {"key": "visits", "type": "number", "min": "0", "max": "100"},
                {"type": "string"},  # a blank row, as a browser posts it
            ],
            allow_defined_only=True,
        ),
    )
    assert response.status_code == 302
    schema = MetadataSchema.objects.get(project=project, related_object="customer")
    assert schema.allow_defined_only
    assert schema.properties == {
        "tier": {
            "type": "string",
            "array": False,
            "optional": False,
            "allowed": ["Gold", "Silver"],
        },
        "visits": {"type": "number", "array": False, "optional": True, "min": 0, "max": 100},
    }
    page = owner_client.get(reverse("metadata:list"))
    assert b"tier" in page.content


def test_schema_errors_rerender(owner_client, project):
    response = owner_client.post(
        reverse("metadata:edit", args=["customer"]),
        formset(
            [
                {"key": "a__b", "type": "string"},
                {"key": "x", "type": "number", "min": "5", "max": "1"},
            ]
        ),
    )
    assert response.status_code == 200
    assert not MetadataSchema.objects.exists()
    errors = [form.errors for form in response.context["formset"]]
    assert "key" in errors[0] and "max" in errors[1]


def test_duplicate_keys_refused(owner_client):
    response = owner_client.post(
        reverse("metadata:edit", args=["order"]),
        formset([{"key": "k", "type": "string"}, {"key": "k", "type": "number"}]),
    )
    assert response.status_code == 200 and not MetadataSchema.objects.exists()


def test_unknown_resource_404(owner_client):
    assert owner_client.get(reverse("metadata:edit", args=["spaceship"])).status_code == 404


def test_marketer_reads_but_cannot_change(member_client):
    client = member_client(Role.MARKETER)
    assert client.get(reverse("metadata:edit", args=["customer"])).status_code == 200
    response = client.post(
        reverse("metadata:edit", args=["customer"]), formset([{"key": "k", "type": "string"}])
    )
    assert response.status_code == 403


def test_untouched_extra_rows_as_a_browser_posts_them_are_skipped(owner_client, project):
    # a browser posts the select's first option for blank rows
    response = owner_client.post(
        reverse("metadata:edit", args=["customer"]),
        formset([{"key": "tier", "type": "string"}, {"key": "", "type": "string"}]),
    )
    assert response.status_code == 302
    assert list(MetadataSchema.objects.get(project=project).properties) == ["tier"]
