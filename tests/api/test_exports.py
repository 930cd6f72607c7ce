"""Exports through /v1: create with fields, filters and order; get with a signed download link;
the download without an API key; list and delete; garbage refused; other projects' exports
invisible and their tokens useless."""

import csv
import io

import pytest
from django.core import signing
from django.test import Client

from apps.exports import services
from apps.jobs.models import Job, JobStatus
from tests.campaigns.factories import CampaignFactory, VoucherFactory
from tests.customers.factories import CustomerFactory
from tests.orders.factories import OrderFactory
from tests.products.factories import ProductFactory, SkuFactory
from tests.projects.factories import ProjectFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def export(api_client, django_capture_on_commit_callbacks):
    """`export(body)` -> the export object as GET answers it once the job ran."""

    def run(body):
        with django_capture_on_commit_callbacks(execute=True):
            response = api_client.post("/v1/exports", body, content_type="application/json")
        assert response.status_code == 200, response.content
        assert response.json()["status"] == "SCHEDULED"
        return api_client.get(f"/v1/exports/{response.json()['id']}").json()

    return run


def download(url: str, client=None) -> list[dict]:
    """The CSV behind a `result.url`, fetched without any API key."""
    response = (client or Client()).get(url.removeprefix("http://testserver"))
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    assert ".csv" in response["Content-Disposition"]
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def test_an_order_export_with_fields_filters_and_order(api_client, export):
    # given three orders of the project and one of another project
    project = api_client.project
    for source_id, status, amount in (
        ("a", "PAID", 100),
        ("b", "CREATED", 200),
        ("c", "PAID", 300),
    ):
        OrderFactory(
            customer__project=project,
            source_id=source_id,
            status=status,
            amount=amount,
            total_amount=amount,
            metadata={"channel": source_id},
        )
    OrderFactory(status="PAID")
    # when exporting the paid ones, biggest first, with chosen columns
    body = export(
        {
            "exported_object": "order",
            "parameters": {
                "fields": ["source_id", "amount", "status", "metadata.channel"],
                "filters": {"junction": "and", "status": {"conditions": {"$in": ["PAID"]}}},
                "order": "-created_at",
            },
        }
    )
    # then the export is done and its link downloads exactly those rows and columns
    assert body["status"] == "DONE" and body["exported_object"] == "order"
    assert body["channel"] == "API" and body["object"] == "export"
    assert body["parameters"]["fields"] == ["source_id", "amount", "status", "metadata.channel"]
    assert "token=" in body["result"]["url"] and body["result"]["url"].startswith("http")
    rows = download(body["result"]["url"])
    assert rows == [
        {"source_id": "c", "amount": "300", "status": "PAID", "metadata.channel": "c"},
        {"source_id": "a", "amount": "100", "status": "PAID", "metadata.channel": "a"},
    ]


def test_default_fields_and_the_metadata_columns(api_client, export):
    ProductFactory(project=api_client.project, source_id="lamp", price=1250, metadata={"x": 1})
    body = export({"exported_object": "product"})
    [row] = download(body["result"]["url"])
    assert row["source_id"] == "lamp" and row["price"] == "1250" and row["metadata.x"] == "1"
    assert row["id"].startswith("prod_") and row["created_at"].endswith("Z")
    assert body["parameters"]["fields"][0] == "id"


@pytest.mark.parametrize(
    "exported_object, make, expected",
    [
        ("sku", lambda p: SkuFactory(product__project=p, source_id="s1"), {"source_id": "s1"}),
        ("customer", lambda p: CustomerFactory(project=p, source_id="c1"), {"source_id": "c1"}),
        (
            "voucher",
            lambda p: VoucherFactory(campaign=CampaignFactory(project=p), code="CODE1"),
            {"code": "CODE1"},
        ),
    ],
)
def test_other_exported_objects(api_client, export, exported_object, make, expected):
    make(api_client.project)
    make(ProjectFactory())
    body = export({"exported_object": exported_object})
    rows = download(body["result"]["url"])
    assert len(rows) == 1
    assert expected.items() <= rows[0].items()


def test_redemption_and_publication_exports_run(api_client, export):
    for exported_object in ("redemption", "publication"):
        body = export({"exported_object": exported_object})
        assert body["status"] == "DONE", body
        assert download(body["result"]["url"]) == []


@pytest.mark.parametrize(
    "body, key, detail",
    [
        ({}, "invalid_export_params", "exported_object"),
        ({"exported_object": "rewards"}, "invalid_export_params", "exported_object"),
        ({"exported_object": ["order"]}, "invalid_export_params", "exported_object"),
        ({"exported_object": "points_expiration"}, "invalid_export_params", "not supported"),
        ({"exported_object": "order", "parameters": "all"}, "invalid_export_params", "parameters"),
        (
            {"exported_object": "order", "parameters": {"fields": ["code"]}},
            "invalid_export_fields",
            "code",
        ),
        (
            {"exported_object": "order", "parameters": {"fields": "id"}},
            "invalid_export_fields",
            "fields",
        ),
        (
            {"exported_object": "order", "parameters": {"order": "-amount"}},
            "invalid_export_params",
            "order",
        ),
        (
            {"exported_object": "order", "parameters": {"filters": {"colour": {"conditions": {}}}}},
            "invalid_export_params",
            "colour",
        ),
        (
            {
                "exported_object": "order",
                "parameters": {"filters": {"amount": {"conditions": {"$more_than": ["x"]}}}},
            },
            "invalid_export_params",
            "amount",
        ),
        (
            {"exported_object": "order", "parameters": {"filters": [1]}},
            "invalid_export_params",
            "filters",
        ),
        (
            {"exported_object": "order", "parameters": {"campaign_id": "camp_1"}},
            "invalid_export_params",
            "campaign_id",
        ),
    ],
)
def test_garbage_is_refused(api_client, body, key, detail):
    response = api_client.post("/v1/exports", body, content_type="application/json")
    assert response.status_code == 400, response.content
    error = response.json()
    assert error["key"] == key
    assert detail in error["message"] + error["details"]
    assert not Job.objects.exists()


def test_download_needs_a_valid_token_for_that_export(api_client, export, other_client):
    ProductFactory(project=api_client.project)
    body = export({"exported_object": "product"})
    url = body["result"]["url"].removeprefix("http://testserver")
    anonymous = Client()
    assert anonymous.get(url).status_code == 200
    # no token and no key: the export object needs a key
    assert anonymous.get(f"/v1/exports/{body['id']}").status_code == 401
    # a forged or tampered token
    assert anonymous.get(f"/v1/exports/{body['id']}?token=abc").status_code == 401
    forged = signing.dumps({"export": body["id"], "project": 1}, salt="wrong")
    assert anonymous.get(f"/v1/exports/{body['id']}?token={forged}").status_code == 401
    # a valid token for another export
    token = url.split("token=")[1]
    other = export({"exported_object": "product"})
    assert anonymous.get(f"/v1/exports/{other['id']}?token={token}").status_code == 401


def test_an_expired_token_is_refused(api_client, export, time_machine):
    time_machine.move_to("2026-01-01T00:00:00Z", tick=False)
    body = export({"exported_object": "product"})
    time_machine.shift(services.DOWNLOAD_MAX_AGE + 60)
    response = Client().get(body["result"]["url"].removeprefix("http://testserver"))
    assert response.status_code == 401 and "expired" in response.json()["details"]


def test_an_unfinished_export_has_no_link(api_client):
    response = api_client.post(
        "/v1/exports", {"exported_object": "order"}, content_type="application/json"
    )
    body = api_client.get(f"/v1/exports/{response.json()['id']}").json()
    assert body["status"] == "SCHEDULED" and body["result"] is None
    job = Job.objects.get()
    job.status = JobStatus.FAILED
    job.error = "disk full"
    job.save()
    failed = api_client.get(f"/v1/exports/{job.public_id}").json()
    assert failed["status"] == "ERROR" and failed["result"] == {"error": "disk full"}
    token = services.export_token(job)
    assert Client().get(f"/v1/exports/{job.public_id}?token={token}").status_code == 404


def test_list_and_delete(api_client, export):
    first = export({"exported_object": "order"})
    export({"exported_object": "customer"})
    listed = api_client.get("/v1/exports?order=created_at").json()
    assert listed["object"] == "list" and listed["data_ref"] == "exports"
    assert listed["total"] == 2 and listed["exports"][0]["id"] == first["id"]
    assert listed["exports"][0]["result"]["url"]
    assert api_client.get("/v1/exports?order=size").status_code == 400
    job = Job.objects.get(public_id=first["id"])
    file_name = job.result["file"]
    assert api_client.delete(f"/v1/exports/{first['id']}").status_code == 204
    assert not Job.objects.filter(pk=job.pk).exists()
    assert not services.default_storage.exists(file_name)
    assert api_client.get(f"/v1/exports/{first['id']}").status_code == 404
    assert Client().get(first["result"]["url"].removeprefix("http://testserver")).status_code == 404


def test_other_jobs_are_not_exports(api_client):
    job = Job.objects.create(project=api_client.project, type="PRODUCTS.BULK_UPDATE")
    assert api_client.get(f"/v1/exports/{job.public_id}").status_code == 404
    assert api_client.delete(f"/v1/exports/{job.public_id}").status_code == 404
    assert api_client.get("/v1/exports").json()["total"] == 0


def test_another_projects_key_sees_none_of_it(api_client, export, other_client):
    body = export({"exported_object": "order"})
    assert other_client.get(f"/v1/exports/{body['id']}").status_code == 404
    assert other_client.delete(f"/v1/exports/{body['id']}").status_code == 404
    assert other_client.get("/v1/exports").json()["total"] == 0
    assert Job.objects.filter(public_id=body["id"]).exists()


def test_a_voucher_export_of_one_campaign(api_client, export):
    summer = CampaignFactory(project=api_client.project, name="Summer")
    VoucherFactory(campaign=summer, code="SUN-1")
    VoucherFactory(campaign=summer, code="SUN-2", active=False)
    VoucherFactory(campaign=CampaignFactory(project=api_client.project), code="OTHER")
    body = export(
        {
            "exported_object": "voucher",
            "parameters": {
                "campaign_id": summer.public_id,
                "fields": ["code", "campaign", "active"],
                "filters": {"active": {"conditions": {"$is": True}}},
            },
        }
    )
    assert download(body["result"]["url"]) == [
        {"code": "SUN-1", "campaign": "Summer", "active": "true"}
    ]


def test_garbage_query_parameters_are_a_400(api_client):
    assert api_client.get("/v1/exports?limit=1000").status_code == 400
    assert api_client.get("/v1/exports?page=x").status_code == 400
    body = api_client.post("/v1/exports", "[1]", content_type="application/json")
    assert body.status_code == 400 and body.json()["key"] == "invalid_payload"
