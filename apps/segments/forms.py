"""Forms of the segment screens. The builder's form lives in builder_views.py."""

import codecs
import csv
import re

from django import forms

MAX_REFS = 100_000
SEPARATORS = re.compile(r"[\r\n,]+")  # ids may contain spaces, so not those
# First-row cells that name the id column rather than being an id.
HEADER_NAMES = {"source_id", "source id", "sourceid", "id", "customer", "customer_id", "customers"}


class AddMembersForm(forms.Form):
    """Customers to add to a static segment: pasted ids and/or a CSV of source_ids."""

    refs = forms.CharField(
        required=False,
        label="Source IDs or customer IDs",
        help_text="One per line, or separated by commas.",
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false", "autocomplete": "off"}),
    )
    file = forms.FileField(
        required=False,
        label="…or a CSV file",
        help_text="Source IDs in the first column, or in a column named source_id. "
        f"A header row is optional; up to {MAX_REFS:,} rows.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv,text/plain"}),
    )

    def clean_refs(self) -> list[str]:
        text = self.cleaned_data.get("refs") or ""
        return [ref.strip() for ref in SEPARATORS.split(text) if ref.strip()]

    def clean_file(self) -> list[str]:
        upload = self.cleaned_data.get("file")
        if not upload:
            return []
        try:
            return read_csv_refs(upload)
        except UnicodeDecodeError as exc:
            raise forms.ValidationError(
                "The file is not UTF-8 text; save it as CSV UTF-8."
            ) from exc
        except csv.Error as exc:
            raise forms.ValidationError(f"The file is not a readable CSV: {exc}.") from exc
        except TooManyRows as exc:
            raise forms.ValidationError(
                f"The file has more than {MAX_REFS:,} rows; split it into smaller files."
            ) from exc

    def clean(self):
        cleaned = super().clean()
        if not self.errors and not cleaned.get("refs") and not cleaned.get("file"):
            raise forms.ValidationError("Paste some IDs or choose a CSV file.")
        if len(cleaned.get("refs") or []) > MAX_REFS:
            self.add_error("refs", f"Paste at most {MAX_REFS:,} IDs at a time.")
        return cleaned

    def all_refs(self) -> list[str]:
        return [*self.cleaned_data["refs"], *self.cleaned_data["file"]]


class TooManyRows(Exception):
    pass


def read_csv_refs(upload, *, limit: int = MAX_REFS) -> list[str]:
    """The ids of a CSV, read a row at a time: the column named source_id if the first row names
    one, else the first column. A first row that only names columns is skipped."""
    rows = csv.reader(codecs.iterdecode(upload, "utf-8-sig"))
    refs: list[str] = []
    column = 0
    for number, row in enumerate(rows):
        if number == 0:
            names = [cell.strip().lower() for cell in row]
            if "source_id" in names:
                column = names.index("source_id")
                continue
            if names and names[0] in HEADER_NAMES:
                continue
        if len(row) <= column:
            continue
        ref = row[column].strip()
        if not ref:
            continue
        if len(refs) >= limit:
            raise TooManyRows
        refs.append(ref)
    return refs
