import django_filters
from django import forms

from apps.core.events import EVENT_TYPES

from .models import DeliveryStatus, WebhookDelivery


class WebhookForm(forms.Form):
    url = forms.URLField(
        max_length=500,
        label="Endpoint URL",
        assume_scheme="https",
        help_text="We POST each event here as JSON, signed in the X-Signature header.",
    )
    description = forms.CharField(max_length=255, required=False)
    events = forms.MultipleChoiceField(
        choices=[(event, event) for event in EVENT_TYPES],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None chosen: every event.",
    )


class DeliveryFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=DeliveryStatus.choices, empty_label="Any status")
    event_type = django_filters.ChoiceFilter(
        choices=[(event, event) for event in (*EVENT_TYPES, "webhook.test")],
        empty_label="Any event",
        label="Event",
    )

    class Meta:
        model = WebhookDelivery
        fields = ["status", "event_type"]
