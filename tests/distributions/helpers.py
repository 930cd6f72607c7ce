from apps.distributions import services
from apps.distributions.models import Audience, Channel, Kind

HTML = "<p>Hi {{ customer.name }}, your code is <b>{{ voucher.code }}</b></p>"
TEXT = "Code: {{ voucher.code }} ({{ voucher.discount }}). Stop: {{ unsubscribe_url }}"


def manual(project, *, segment=None, campaign=None, channel=Channel.EMAIL, **fields):
    defaults = {
        "name": "Spring mailing",
        "kind": Kind.MANUAL,
        "channel": channel,
        "campaign": campaign,
        "audience": Audience.SEGMENT if segment else Audience.ALL,
        "segment": segment,
        "subject": "Hello {{ customer.name }}",
        "body_html": HTML,
        "body_text": TEXT,
    }
    return services.distribution_create(project=project, **{**defaults, **fields})


def automatic(project, *, trigger, campaign=None, channel=Channel.EMAIL, **fields):
    defaults = {
        "name": f"On {trigger}",
        "kind": Kind.AUTOMATIC,
        "channel": channel,
        "campaign": campaign,
        "trigger": trigger,
        "subject": "Thanks {{ customer.name }}",
        "body_html": HTML,
        "body_text": TEXT,
    }
    return services.distribution_create(project=project, **{**defaults, **fields})


def send(distribution, capture):
    with capture(execute=True):
        services.distribution_send(distribution=distribution)
    distribution.refresh_from_db()
    return distribution
