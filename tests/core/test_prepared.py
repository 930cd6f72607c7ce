"""apps.core.prepared: the checkout's queries run as prepared statements; a list page's do not
(with a generic plan, a search that matches nothing reads every customer)."""

import pytest
from django.conf import settings
from django.db import connection

from apps.core.prepared import prepared_statements
from apps.redemptions.services import validation_check
from tests.campaigns.factories import CampaignFactory, VoucherFactory
from tests.concurrency import requires_postgres

pytestmark = [pytest.mark.postgres, requires_postgres(), pytest.mark.django_db]


def prepared_on_this_connection() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return {row[0] for row in cursor.fetchall()}


def test_the_checkout_prepares_its_queries_and_turns_preparing_off_again(project):
    VoucherFactory(campaign=CampaignFactory(project=project), code="SAVE5")
    body = {"redeemables": [{"object": "voucher", "id": "SAVE5"}], "order": {"amount": 10000}}
    before = prepared_on_this_connection()
    for _ in range(3):
        validation_check(project=project, payload=body)
    new = prepared_on_this_connection() - before
    assert any("campaigns_voucher" in statement for statement in new)
    assert connection.connection.prepare_threshold is None


def test_a_list_page_prepares_nothing(owner_client):
    before = prepared_on_this_connection()
    for _ in range(4):
        assert owner_client.get("/customers/?q=nobody-has-this").status_code == 200
    new = prepared_on_this_connection() - before
    assert not [statement for statement in new if "customers_customer" in statement]


def test_nested_use_keeps_preparing_until_the_outer_one_ends():
    connection.ensure_connection()
    with prepared_statements():
        with prepared_statements():
            pass
        assert connection.connection.prepare_threshold == settings.DATABASE_PREPARE_THRESHOLD
    assert connection.connection.prepare_threshold is None
