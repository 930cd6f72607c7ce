"""Forms of the validation-rule screens. The conditions come from the builder (builder.py); this
form holds the rule's own fields."""

from django import forms


class RuleForm(forms.Form):
    name = forms.CharField(max_length=255, label="Name")
    error_message = forms.CharField(
        max_length=500,
        required=False,
        label="Error message",
        help_text="Returned when the rule fails and the failing condition has no message.",
    )

    def clean_name(self) -> str:
        return self.cleaned_data["name"].strip()

    def clean_error_message(self) -> str:
        return self.cleaned_data["error_message"].strip()
