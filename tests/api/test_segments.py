"""/v1/segments: create (static and filter), get, list, delete. Voucherify's shapes, JSON
errors, other projects' objects invisible."""

import pytest

from apps.segments import usage
from apps.segments.models import Segment, SegmentMember
from tests.customers.factories import CustomerFactory
from tests.segments.factories import SegmentFactory

from .test_customers import error_of, post

pytestmark = pytest.mark.django_db

POLAND = {"junction": "and", "address.country": {"conditions": {"$is": "Poland"}}}


def test_a_static_segment_takes_customer_ids_and_source_ids(api_client):
    ann = CustomerFactory(project=api_client.project, source_id="ann")
    bob = CustomerFactory(project=api_client.project, source_id="bob")
    response = post(
        api_client,
        "/v1/segments",
        {"name": "VIP", "type": "static", "customers": [ann.public_id, "bob"], "filter": None},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["object"] == "segment" and body["id"].startswith("seg_")
    assert (body["name"], body["type"], body["filter"]) == ("VIP", "static", None)
    assert body["initial_sync_status"] == "DONE" and body["created_at"].endswith("Z")
    members = SegmentMember.objects.filter(segment__public_id=body["id"])
    assert {m.customer_id for m in members} == {ann.pk, bob.pk}


def test_an_auto_update_segment_is_computed_from_its_filter(
    api_client, django_capture_on_commit_callbacks
):
    CustomerFactory(project=api_client.project, address_country="Poland")
    CustomerFactory(project=api_client.project, address_country="Chile")
    with django_capture_on_commit_callbacks(execute=True):
        response = post(
            api_client, "/v1/segments", {"name": "Poles", "type": "auto-update", "filter": POLAND}
        )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["type"] == "auto-update" and body["filter"] == POLAND
    segment = Segment.objects.get(public_id=body["id"])
    assert segment.size == 1
    fetched = api_client.get(f"/v1/segments/{segment.public_id}").json()
    assert fetched["initial_sync_status"] == "DONE"


@pytest.mark.parametrize(
    ("body", "status", "key"),
    [
        ({"type": "static"}, 400, "invalid_payload"),
        ({"name": 5, "type": "static"}, 400, "invalid_payload"),
        ({"name": "S", "type": "dynamic"}, 400, "invalid_payload"),
        ({"name": "S", "type": ["static"]}, 400, "invalid_payload"),
        ({"name": "S", "type": "static", "customers": "ann"}, 400, "invalid_payload"),
        ({"name": "S", "type": "static", "customers": [{"id": "x"}]}, 400, "invalid_payload"),
        ({"name": "S", "type": "static", "customers": ["nobody"]}, 404, "not_found"),
        ({"name": "S", "type": "static", "filter": POLAND}, 400, "invalid_payload"),
        ({"name": "S", "type": "auto-update"}, 400, "invalid_payload"),
        ({"name": "S", "type": "auto-update", "filter": ["x"]}, 400, "invalid_payload"),
        (
            {"name": "S", "type": "passive", "filter": {"colour": {"conditions": {"$is": "r"}}}},
            400,
            "invalid_payload",
        ),
        (
            {"name": "S", "type": "passive", "filter": {"name": {"conditions": {"$after": 5}}}},
            400,
            "invalid_payload",
        ),
        (
            {"name": "S", "type": "passive", "filter": {"name": {"conditions": "x"}}},
            400,
            "invalid_payload",
        ),
    ],
)
def test_bad_segments_are_refused(api_client, body, status, key):
    error_of(post(api_client, "/v1/segments", body), status, key)
    assert not Segment.objects.exists()


def test_a_name_is_unique_in_a_project(api_client, other_client):
    SegmentFactory(project=api_client.project, name="VIP")
    body = {"name": "VIP", "type": "static"}
    error_of(post(api_client, "/v1/segments", body), 409, "duplicate_found")
    assert post(other_client, "/v1/segments", body).status_code == 200


def test_customers_of_another_project_cannot_be_members(api_client, other_client):
    theirs = CustomerFactory(project=other_client.project, source_id="ann")
    body = {"name": "S", "type": "static", "customers": [theirs.public_id]}
    error_of(post(api_client, "/v1/segments", body), 404, "not_found")
    body["customers"] = ["ann"]
    error_of(post(api_client, "/v1/segments", body), 404, "not_found")


def test_get_and_delete_see_only_this_project(api_client, other_client):
    segment = SegmentFactory(project=api_client.project)
    path = f"/v1/segments/{segment.public_id}"
    error_of(other_client.get(path), 404, "not_found")
    error_of(other_client.delete(path), 404, "not_found")
    assert api_client.get(path).json()["id"] == segment.public_id
    response = api_client.delete(path)
    assert response.status_code == 204 and response.content == b""
    error_of(api_client.get(path), 404, "not_found")
    error_of(api_client.get("/v1/segments/seg_unknown"), 404, "not_found")


def test_a_segment_in_use_is_not_deleted(api_client, monkeypatch):
    segment = SegmentFactory(project=api_client.project, name="VIP")
    monkeypatch.setattr(usage, "_checks", [lambda s: ["validation rule “VIP only”"]])
    body = error_of(api_client.delete(f"/v1/segments/{segment.public_id}"), 409, "resource_in_use")
    assert "VIP only" in body["message"]
    assert Segment.objects.filter(pk=segment.pk).exists()


def test_list_pages_and_shows_only_this_project(api_client, other_client):
    for name in ("B", "A", "C"):
        SegmentFactory(project=api_client.project, name=name)
    SegmentFactory(project=other_client.project, name="Theirs")
    body = api_client.get("/v1/segments", {"order": "name", "limit": 2}).json()
    assert body["object"] == "list" and body["data_ref"] == "segments"
    assert [s["name"] for s in body["segments"]] == ["A", "B"]
    assert body["total"] == 3 and body["has_more"] is True
    second = api_client.get("/v1/segments", {"order": "name", "limit": 2, "page": 2}).json()
    assert [s["name"] for s in second["segments"]] == ["C"] and second["has_more"] is False
    newest = api_client.get("/v1/segments").json()
    assert [s["name"] for s in newest["segments"]] == ["C", "A", "B"]
    theirs = other_client.get("/v1/segments").json()
    assert [s["name"] for s in theirs["segments"]] == ["Theirs"]
    for params in ({"limit": 0}, {"page": 0}, {"order": "size"}, {"limit": "x"}):
        assert api_client.get("/v1/segments", params).status_code == 400
