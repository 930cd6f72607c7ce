"""A real Celery worker killed with SIGKILL in the middle of a send, and a new one started:
every customer ends with exactly one message and one code. Needs PostgreSQL and Redis."""

import random
import time
from collections import Counter

import pytest
from celery import Celery
from django.conf import settings
from django.utils import timezone

from apps.campaigns.models import Publication, Voucher
from apps.campaigns.services.generation import generate_codes
from apps.distributions.models import Delivery, DeliveryStatus, Status
from apps.jobs.models import JobStatus
from apps.jobs.services import job_create
from tests.campaigns.factories import CampaignFactory
from tests.concurrency import requires_postgres
from tests.customers.factories import CustomerFactory
from tests.projects.factories import ProjectFactory
from tests.segments.factories import SegmentFactory, SegmentMemberFactory

from .helpers import manual
from .smtp_sink import SmtpSink
from .workers import kill_worker, start_worker, stop_worker

REDIS = settings.CELERY_BROKER_URL.startswith("redis://")
# a broker database of its own: nothing else consumes these queues
BROKER = settings.CELERY_BROKER_URL.rsplit("/", 1)[0] + "/11" if REDIS else ""
CUSTOMERS = 400

pytestmark = [
    pytest.mark.postgres,
    requires_postgres(),
    pytest.mark.skipif(not REDIS, reason="needs a Redis broker (CELERY_BROKER_URL=redis://…)"),
    pytest.mark.django_db(transaction=True),
]


def wait_for(condition, timeout: float, step: float = 0.01) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return False


@pytest.fixture
def broker(monkeypatch):
    import redis

    # Celery reads CELERY_BROKER_URL from the environment before any configuration
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
    client = redis.Redis.from_url(BROKER)
    client.flushdb()
    app = Celery("distributions-kill-test", broker=BROKER)
    assert app.conf.broker_url == BROKER
    yield app
    app.close()
    client.flushdb()


def test_a_worker_killed_mid_send_leaves_one_message_and_one_code_per_customer(broker, tmp_path):
    # given a segment of 400 customers and a campaign with codes for all
    project = ProjectFactory()
    campaign = CampaignFactory(project=project)
    generate_codes(campaign, CUSTOMERS + 50)
    segment = SegmentFactory(project=project)
    customers = [CustomerFactory(project=project) for _ in range(CUSTOMERS)]
    for customer in customers:
        SegmentMemberFactory(segment=segment, customer=customer)
    distribution = manual(project, segment=segment, campaign=campaign)
    job = job_create(project=project, type="distribution.send")
    type(distribution).objects.filter(pk=distribution.pk).update(
        status=Status.SENDING, job=job, started_at=timezone.now()
    )
    sink = SmtpSink().start()
    env = {"DISTRIBUTION_CLAIM_SECONDS": "2"}
    log = open(tmp_path / "workers.log", "wb")  # noqa: SIM115
    first = start_worker(broker=BROKER, smtp_port=sink.port, extra_env=env, log=log)
    second = None
    try:
        # when the first worker is killed a quarter of the way through
        broker.send_task("bulk.distributions.plan", args=[distribution.pk], queue="bulk")
        assert wait_for(lambda: len(sink.messages) >= CUSTOMERS // 4, timeout=60), (
            "the first worker sent nothing"
        )
        time.sleep(random.uniform(0, 0.05))  # anywhere in a message's round trip
        kill_worker(first)
        at_kill = len(sink.messages)
        assert at_kill < CUSTOMERS, "the send finished before the kill: make it bigger"
        # and a new one starts; the beat's sweep (sent by hand here) finds the lapsed work
        second = start_worker(broker=BROKER, smtp_port=sink.port, extra_env=env, log=log)

        def finished():
            broker.send_task("distributions.sweep", queue="bulk")
            distribution.refresh_from_db()
            return distribution.status == Status.SENT

        assert wait_for(finished, timeout=120, step=1.0), (
            f"not finished: {Counter(Delivery.objects.values_list('status', flat=True))}"
        )
    finally:
        for worker in (first, second):
            if worker is not None:
                stop_worker(worker)
        sink.stop()
        log.close()

    # then every customer has exactly one message and one code, and the message carries it
    received = Counter(r for m in sink.messages for r in m.recipients)
    assert len(received) == CUSTOMERS, (at_kill, len(received))
    assert set(received.values()) == {1}, [k for k, n in received.items() if n > 1]
    held = Counter(Voucher.objects.filter(holder__isnull=False).values_list("holder", flat=True))
    assert len(held) == CUSTOMERS and set(held.values()) == {1}
    assert Publication.objects.count() == CUSTOMERS
    codes = dict(Delivery.objects.values_list("customer__email", "code"))
    for message in sink.messages:
        assert f"Code: {codes[message.recipients[0]]} " in message.text
    assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.SENT}
    job.refresh_from_db()
    assert job.status == JobStatus.DONE and job.result["sent"] == CUSTOMERS
