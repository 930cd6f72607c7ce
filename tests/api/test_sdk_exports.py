"""The official `voucherify` SDK (PyPI, unchanged) drives the exports endpoints on a live server,
the CSV download with the token of `result.url` included."""

import csv
import io
from urllib.parse import parse_qs, urlparse

import pytest

from tests.customers.factories import CustomerFactory
from tests.projects.factories import ProjectFactory

voucherify = pytest.importorskip("voucherify")
pytestmark = pytest.mark.django_db(transaction=True)


def test_exports_through_the_sdk(sdk, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    shop = ProjectFactory(name="SDK shop", currency="USD")
    CustomerFactory(project=shop, source_id="ann", metadata={"tier": "gold"})
    CustomerFactory(project=shop, source_id="bob")
    api = voucherify.ExportsApi(sdk(shop))
    created = api.create_export(
        voucherify.ExportsCreateRequestBody.from_dict(
            {
                "exported_object": "customer",
                "parameters": {
                    "fields": ["source_id", "email", "metadata"],
                    "order": "source_id",
                    "filters": {
                        "junction": "and",
                        "metadata.tier": {"conditions": {"$is": "gold"}},
                    },
                },
            }
        )
    )
    assert isinstance(created, voucherify.ExportsCreateResponseBody)
    assert created.status == "SCHEDULED" and created.exported_object == "customer"

    done = api.get_export(created.id)
    assert done.status == "DONE" and done.result.url
    token = parse_qs(urlparse(done.result.url).query)["token"][0]
    text = api.download_export(created.id, token=token)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows == [{"source_id": "ann", "email": "ann@example.com", "metadata.tier": "gold"}]

    listed = api.list_exports(
        limit=10, page=1, order=voucherify.ParameterOrderListExports.MINUS_CREATED_AT
    )
    assert listed.total == 1 and listed.exports[0].id == created.id

    api.delete_export(created.id)
    with pytest.raises(voucherify.ApiException) as missing:
        api.get_export(created.id)
    assert missing.value.status == 404
