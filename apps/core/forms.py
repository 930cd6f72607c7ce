from django import forms
from django.conf import settings

from .money import MoneyParseError, format_plain, parse_money


class MoneyInput(forms.TextInput):
    input_type = "text"

    def __init__(self, attrs=None):
        super().__init__({"inputmode": "decimal", "autocomplete": "off", **(attrs or {})})


class MoneyField(forms.Field):
    """A form field for money: the user types major units ("12.50"); cleaned_data holds cents.

    The currency decides how many decimal places are allowed; set it per form instance with
    `form.fields["amount"].currency = project.currency`.
    """

    widget = MoneyInput

    def __init__(self, *, currency: str | None = None, allow_negative: bool = False, **kwargs):
        self.currency = currency or settings.DEFAULT_CURRENCY
        self.allow_negative = allow_negative
        super().__init__(**kwargs)

    def prepare_value(self, value):
        if isinstance(value, int) and not isinstance(value, bool):
            return format_plain(value, self.currency)
        return value

    def to_python(self, value):
        if value in self.empty_values:
            return None
        try:
            return parse_money(value, self.currency, allow_negative=self.allow_negative)
        except MoneyParseError as exc:
            raise forms.ValidationError(str(exc), code="invalid") from exc
