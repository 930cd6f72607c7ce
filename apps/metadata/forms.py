"""Form fields generated from a metadata schema, so marketers edit typed metadata, not JSON."""

import datetime as dt
import json

from django import forms

from .services import Schema
from .validation import TYPES

PREFIX = "meta__"


def _field_for(key: str, spec: dict) -> forms.Field:
    kind = spec.get("type", "string")
    required = not spec.get("optional", True)
    label = f"{key}"
    help_parts = [kind + (" list" if spec.get("array") else "")]
    if spec.get("array") or kind == "object":
        example = '["a", "b"]' if spec.get("array") else '{"key": "value"}'
        return forms.CharField(
            label=label,
            required=required,
            widget=forms.Textarea(attrs={"rows": 2, "placeholder": example}),
            help_text=f"JSON {help_parts[0]}",
        )
    if spec.get("allowed"):
        choices = [("", "—")] + [(str(v), str(v)) for v in spec["allowed"]]
        return forms.ChoiceField(label=label, required=required, choices=choices)
    if kind == "number":
        return forms.FloatField(
            label=label, required=required, min_value=spec.get("min"), max_value=spec.get("max")
        )
    if kind == "boolean":
        return forms.NullBooleanField(
            label=label,
            required=False,
            widget=forms.Select(choices=[("unknown", "—"), ("true", "Yes"), ("false", "No")]),
        )
    if kind == "date":
        return forms.DateField(
            label=label, required=required, widget=forms.DateInput(attrs={"type": "date"})
        )
    if kind == "datetime":
        return forms.DateTimeField(
            label=label,
            required=required,
            widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
            help_text="UTC",
        )
    if kind == "image_url":
        return forms.URLField(label=label, required=required, assume_scheme="https")
    return forms.CharField(
        label=label,
        required=required,
        min_length=spec.get("min_length"),
        max_length=spec.get("max_length"),
    )


def _to_form_value(spec: dict, value):
    if value is None:
        return None
    if spec.get("array") or spec.get("type") == "object":
        return json.dumps(value)
    if spec.get("type") == "boolean":
        return "true" if value else "false"
    return value


def _from_form_value(spec: dict, value):
    kind = spec.get("type", "string")
    if value in (None, ""):
        return None
    if spec.get("array") or kind == "object":
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(f"not valid JSON: {exc.msg}") from exc
    if kind == "number":
        return int(value) if float(value).is_integer() else value
    if kind == "date" and isinstance(value, dt.date):
        return value.isoformat()
    if kind == "datetime" and isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    if kind == "string" and spec.get("allowed"):
        # choices arrive as text; keep the schema's own value (e.g. a number in allowed)
        for allowed in spec["allowed"]:
            if str(allowed) == value:
                return allowed
    return value


class MetadataFormMixin:
    """Adds one typed field per schema key plus an "other metadata" JSON box, and folds them back
    into `cleaned_data["metadata"]`. Call `add_metadata_fields(schema, metadata)` in __init__."""

    def add_metadata_fields(self, schema: Schema, metadata: dict | None) -> None:
        self.metadata_schema = schema
        metadata = metadata or {}
        for key, spec in schema.properties.items():
            name = PREFIX + key
            self.fields[name] = _field_for(key, spec)
            self.initial.setdefault(name, _to_form_value(spec, metadata.get(key)))
        if not schema.allow_defined_only:
            others = {k: v for k, v in metadata.items() if k not in schema.properties}
            self.fields["metadata_other"] = forms.CharField(
                label="Other metadata (JSON object)",
                required=False,
                widget=forms.Textarea(attrs={"rows": 3, "placeholder": '{"key": "value"}'}),
            )
            self.initial.setdefault(
                "metadata_other", json.dumps(others, indent=1) if others else ""
            )

    def metadata_field_names(self) -> list[str]:
        names = [PREFIX + key for key in self.metadata_schema.properties]
        return names + (["metadata_other"] if "metadata_other" in self.fields else [])

    def clean_metadata_fields(self) -> None:
        metadata = {}
        raw_other = (self.cleaned_data.get("metadata_other") or "").strip()
        if raw_other:
            try:
                other = json.loads(raw_other)
            except json.JSONDecodeError as exc:
                self.add_error("metadata_other", f"Not valid JSON: {exc.msg} (line {exc.lineno}).")
                other = {}
            if not isinstance(other, dict):
                self.add_error("metadata_other", 'Write a JSON object like {"key": "value"}.')
                other = {}
            metadata.update(other)
        for key, spec in self.metadata_schema.properties.items():
            name = PREFIX + key
            if name not in self.cleaned_data:
                continue
            try:
                value = _from_form_value(spec, self.cleaned_data[name])
            except forms.ValidationError as exc:
                self.add_error(name, exc)
                continue
            if value is not None:
                metadata[key] = value
        for error in self.metadata_schema.errors(metadata):
            base = error.key.split("[")[0]
            field = PREFIX + base if base in self.metadata_schema.properties else "metadata_other"
            if field in self.fields and field not in self.errors:
                self.add_error(field, error.message)
            elif field not in self.fields:
                self.add_error(None, str(error))
        self.cleaned_data["metadata"] = metadata


class PropertyForm(forms.Form):
    """One key of a metadata schema, in the schema editor's formset."""

    key = forms.RegexField(
        regex=r"^[A-Za-z0-9_\-. ]{1,100}$",
        max_length=100,
        error_messages={"invalid": "Use letters, digits, spaces and _ - . only."},
    )
    # The initial value matches what an untouched select posts, so blank extra rows stay
    # "unchanged" and are skipped instead of failing validation.
    type = forms.ChoiceField(
        choices=[(t, t.replace("_", " ")) for t in TYPES],
        initial="string",
        widget=forms.Select(attrs={"style": "min-width: 9rem"}),
    )
    array = forms.BooleanField(required=False, label="List")
    required = forms.BooleanField(required=False)
    min = forms.FloatField(required=False)
    max = forms.FloatField(required=False)
    min_length = forms.IntegerField(required=False, min_value=0)
    max_length = forms.IntegerField(required=False, min_value=1)
    allowed = forms.CharField(required=False, help_text="Comma-separated allowed values")

    def clean(self):
        cleaned = super().clean()
        if "__" in (cleaned.get("key") or ""):
            self.add_error("key", "Two underscores in a row are not allowed.")
        low, high = cleaned.get("min"), cleaned.get("max")
        if low is not None and high is not None and low > high:
            self.add_error("max", "Must be at least the minimum.")
        return cleaned

    def as_property(self) -> tuple[str, dict]:
        data = self.cleaned_data
        spec: dict = {
            "type": data["type"],
            "array": data["array"],
            "optional": not data["required"],
        }
        for name in ("min", "max", "min_length", "max_length"):
            if data.get(name) is not None:
                value = data[name]
                spec[name] = int(value) if float(value).is_integer() else value
        if data.get("allowed"):
            values = [v.strip() for v in data["allowed"].split(",") if v.strip()]
            if data["type"] == "number":
                values = [float(v) if "." in v else int(v) for v in values if _is_number(v)]
            spec["allowed"] = values
        return data["key"], spec

    @staticmethod
    def initial_from(key: str, spec: dict) -> dict:
        return {
            "key": key,
            "type": spec.get("type", "string"),
            "array": spec.get("array", False),
            "required": not spec.get("optional", True),
            "min": spec.get("min"),
            "max": spec.get("max"),
            "min_length": spec.get("min_length"),
            "max_length": spec.get("max_length"),
            "allowed": ", ".join(map(str, spec.get("allowed", []))),
        }


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


PropertyFormSet = forms.formset_factory(PropertyForm, extra=2, can_delete=True)
