from django import forms

from .columns import target_choices
from .models import ImportKind


class ImportUploadForm(forms.Form):
    kind = forms.ChoiceField(
        label="The file contains", choices=ImportKind.choices, initial=ImportKind.CUSTOMERS
    )
    file = forms.FileField(
        label="File",
        help_text="CSV (UTF-8, comma or semicolon separated, with a header row) or XLSX.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.tsv,.xlsx"}),
    )


class MappingForm(forms.Form):
    """One select per file column: a known field, metadata.<column>, or ignore."""

    def __init__(self, *args, imp, **kwargs):
        super().__init__(*args, **kwargs)
        self.imp = imp
        for index, name in enumerate(imp.header):
            self.fields[f"col_{index}"] = forms.ChoiceField(
                label=name or f"Column {index + 1}",
                choices=target_choices(imp.kind, name),
                required=False,
                initial=imp.mapping[index] if index < len(imp.mapping) else "",
            )

    @property
    def columns(self):
        return [self[f"col_{index}"] for index in range(len(self.imp.header))]

    def mapping(self) -> list[str]:
        return [self.cleaned_data.get(f"col_{i}") or "" for i in range(len(self.imp.header))]
