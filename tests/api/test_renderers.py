"""The orjson renderer gives the same JSON values as ninja's own renderer."""

import datetime as dt
import json
from decimal import Decimal
from enum import StrEnum

from django.utils.translation import gettext_lazy
from ninja.renderers import JSONRenderer

from apps.api.renderers import OrjsonRenderer


class Status(StrEnum):
    ACTIVE = "ACTIVE"


def test_orjson_renders_every_kind_of_value_as_ninjas_renderer_does():
    data = {
        "created_at": dt.datetime(2026, 5, 1, 10, 30, 15, 123456, tzinfo=dt.UTC),
        "naive": dt.datetime(2026, 5, 1, 10, 30),
        "day": dt.date(2026, 5, 1),
        "amount": 1999,
        "rate": 0.1,
        "price": Decimal("12.50"),
        "name": "Zażółć «gęślą»",
        "status": Status.ACTIVE,
        "label": gettext_lazy("Active"),
        "by_id": {7: "seven"},
        "nested": [None, True, {"x": []}],
    }
    ours = OrjsonRenderer().render(None, data, response_status=200)
    ninjas = JSONRenderer().render(None, data, response_status=200)
    assert isinstance(ours, bytes)
    assert json.loads(ours) == json.loads(ninjas)
    assert json.loads(ours)["created_at"] == "2026-05-01T10:30:15.123Z"


def test_api_answers_come_from_the_orjson_renderer(api_client):
    api_client.post("/v1/customers", {"source_id": "ö-1"}, content_type="application/json")
    response = api_client.get("/v1/customers/ö-1")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert b'"source_id":"\xc3\xb6-1"' in response.content  # compact, UTF-8 (json.dumps: \\u00f6)
