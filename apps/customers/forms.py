from django import forms

from apps.metadata.forms import MetadataFormMixin
from apps.metadata.services import Schema

from .models import Customer
from .services import clean_customer_data

PROFILE_FORM_FIELDS = [
    "name",
    "email",
    "phone",
    "birthdate",
    "description",
    "address_line_1",
    "address_line_2",
    "address_city",
    "address_state",
    "address_postal_code",
    "address_country",
]


class CustomerForm(MetadataFormMixin, forms.ModelForm):
    """Profile fields plus one typed input per metadata-schema key.

    The form only collects input; customer_create / customer_update apply the rules (the same
    ones the API and imports use), and their errors are put back on the fields.
    """

    source_id = forms.CharField(
        max_length=255,
        required=False,
        label="Source ID",
        help_text="Your own id for this customer (CRM id or email). It cannot be changed later.",
    )

    class Meta:
        model = Customer
        fields = PROFILE_FORM_FIELDS
        widgets = {
            "birthdate": forms.DateInput(attrs={"type": "date"}),
            "description": forms.Textarea(attrs={"rows": 2}),
            "email": forms.TextInput(attrs={"type": "email", "autocomplete": "off"}),
        }
        labels = {
            "address_line_1": "Address line 1",
            "address_line_2": "Address line 2",
            "address_city": "City",
            "address_state": "State",
            "address_postal_code": "Postal code",
            "address_country": "Country",
        }

    def __init__(self, *args, schema: Schema, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["source_id"].initial = self.instance.source_id
            if self.instance.source_id:
                self.fields["source_id"].disabled = True
                self.fields["source_id"].help_text = "Set once; it cannot be changed."
        self.order_fields(["source_id", *PROFILE_FORM_FIELDS])
        self.add_metadata_fields(schema, self.instance.metadata if self.instance.pk else {})

    def clean(self):
        cleaned = super().clean()
        self.clean_metadata_fields()
        # The services' own field rules, so every problem shows at once (metadata is checked above).
        profile = {name: cleaned.get(name) for name in PROFILE_FORM_FIELDS if name in cleaned}
        _, errors = clean_customer_data(profile, schema=self.metadata_schema)
        for name, message in errors.items():
            if name not in self.errors:
                self.add_error(name, message)
        return cleaned

    def service_data(self) -> dict:
        data = {name: self.cleaned_data.get(name) for name in PROFILE_FORM_FIELDS}
        data["metadata"] = self.cleaned_data["metadata"]
        return data

    def apply_service_errors(self, fields: dict[str, str]) -> None:
        for name, message in fields.items():
            field = name
            if name.startswith("metadata."):
                key = name.removeprefix("metadata.").split("[")[0]
                field = f"meta__{key}" if f"meta__{key}" in self.fields else "metadata_other"
            if field in self.fields:
                self.add_error(field, message)
            else:
                self.add_error(None, f"{name}: {message}")

    def _post_clean(self):
        # Model validation happens in the services, not on the instance here.
        pass
