import pytest

from apps.campaigns.services.generation import generate_codes
from apps.distributions import sms
from tests.campaigns.factories import CampaignFactory
from tests.customers.factories import CustomerFactory
from tests.segments.factories import SegmentFactory, SegmentMemberFactory

from .smtp_sink import SmtpSink


@pytest.fixture
def smtp_sink(settings):
    """A real SMTP server on loopback; Django's SMTP backend points at it."""
    sink = SmtpSink().start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = sink.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5
    yield sink
    sink.stop()


@pytest.fixture(autouse=True)
def _empty_sms_outbox():
    sms.outbox.clear()
    yield
    sms.outbox.clear()


@pytest.fixture
def campaign(project):
    """A static campaign of 20 codes (10 % off)."""
    campaign = CampaignFactory(project=project, name="Spring sale")
    generate_codes(campaign, 20)
    return campaign


@pytest.fixture
def segment(project):
    """A static segment of five customers with email, one without, one opted out."""
    segment = SegmentFactory(project=project, name="Newsletter")
    for i in range(5):
        SegmentMemberFactory(
            segment=segment,
            customer=CustomerFactory(project=project, name=f"Reader {i}", phone=f"+4860000000{i}"),
        )
    SegmentMemberFactory(segment=segment, customer=CustomerFactory(project=project, email=""))
    SegmentMemberFactory(
        segment=segment,
        customer=CustomerFactory(project=project, marketing_opt_out=True),
    )
    segment.size = 7
    segment.save(update_fields=["size"])
    return segment
