import json
import re
from dataclasses import dataclass
from dataclasses import field as dc_field

from django import forms

from apps.core.conditions import FilterError
from apps.core.forms import MoneyField
from apps.metadata.models import Resource
from apps.metadata.services import schema_for

from .collections import (
    VALUELESS,
    Builder,
    FilterRow,
    filter_to_rows,
    operator_choices,
    product_filter_fields,
    product_filter_q,
    rows_to_filter,
)
from .models import CollectionType, Product, ProductCollection, Sku

JSON_ATTRS = {"rows": 4, "class": "font-monospace", "spellcheck": "false"}


class JSONObjectField(forms.CharField):
    """A textarea holding a JSON object; cleaned_data is the dict ({} when empty)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", forms.Textarea(attrs=JSON_ATTRS))
        super().__init__(**kwargs)

    def prepare_value(self, value):
        if isinstance(value, dict):
            return json.dumps(value, indent=2, ensure_ascii=False) if value else ""
        return value

    def to_python(self, value):
        text = (super().to_python(value) or "").strip()
        if not text:
            return {}
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(
                f"Not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}."
            ) from exc
        if not isinstance(parsed, dict):
            raise forms.ValidationError('Enter a JSON object, like {"color": "red"}.')
        return parsed


def _check_metadata(project, resource: str, metadata: dict) -> dict:
    errors = schema_for(project=project, resource=resource).errors(metadata)
    if errors:
        raise forms.ValidationError([str(error) for error in errors])
    return metadata


class ProductForm(forms.Form):
    name = forms.CharField(max_length=255)
    source_id = forms.CharField(
        max_length=255,
        required=False,
        label="Source id",
        help_text="Your shop's id for this product; unique in the project.",
    )
    price = MoneyField(required=False)
    attributes = forms.CharField(
        required=False,
        help_text="Names of the attributes SKUs vary by, separated by commas: color, size.",
    )
    image_url = forms.URLField(
        max_length=2048, required=False, label="Image URL", assume_scheme="https"
    )
    metadata = JSONObjectField(help_text='A JSON object, e.g. {"brand": "Acme"}.')

    def __init__(self, *args, project, product: Product | None = None, **kwargs):
        if product is not None:
            kwargs.setdefault(
                "initial",
                {
                    "name": product.name,
                    "source_id": product.source_id or "",
                    "price": product.price,
                    "attributes": ", ".join(product.attributes or []),
                    "image_url": product.image_url,
                    "metadata": product.metadata,
                },
            )
        super().__init__(*args, **kwargs)
        self.project = project
        self.product = product
        self.fields["price"].currency = project.currency
        self.fields["price"].label = f"Price ({project.currency})"
        if product is not None:
            # source_id is the product's natural key for the API and imports: set once.
            self.fields["source_id"].disabled = True
            self.fields["source_id"].help_text = "The source id cannot change."

    def clean_source_id(self):
        source_id = (self.cleaned_data.get("source_id") or "").strip()
        taken = Product.objects.filter(project=self.project, source_id=source_id)
        if self.product is None and source_id and taken.exists():
            raise forms.ValidationError(f"A product with source id “{source_id}” already exists.")
        return source_id or None

    def clean_attributes(self) -> list[str]:
        names = [a.strip() for a in (self.cleaned_data.get("attributes") or "").split(",")]
        unique = list(dict.fromkeys(name for name in names if name))
        too_long = [name for name in unique if len(name) > 100]
        if too_long:
            raise forms.ValidationError(f"“{too_long[0][:40]}…” is too long for an attribute.")
        return unique

    def clean_metadata(self) -> dict:
        return _check_metadata(self.project, Resource.PRODUCT, self.cleaned_data["metadata"])

    def service_data(self) -> dict:
        data = self.cleaned_data
        return {k: data[k] for k in ("name", "price", "attributes", "image_url", "metadata")}


class SkuForm(forms.Form):
    sku = forms.CharField(max_length=255, label="SKU name")
    source_id = forms.CharField(
        max_length=255,
        required=False,
        label="Source id",
        help_text="Your shop's id for this SKU; unique in the project.",
    )
    price = MoneyField(required=False, help_text="Leave empty to use the product's price.")
    attributes = JSONObjectField(help_text='A JSON object, e.g. {"color": "red", "size": "M"}.')
    image_url = forms.URLField(
        max_length=2048, required=False, label="Image URL", assume_scheme="https"
    )
    metadata = JSONObjectField(help_text="A JSON object.")

    def __init__(self, *args, product: Product, sku: Sku | None = None, **kwargs):
        if sku is not None:
            kwargs.setdefault(
                "initial",
                {
                    "sku": sku.sku,
                    "source_id": sku.source_id or "",
                    "price": sku.price,
                    "attributes": sku.attributes,
                    "image_url": sku.image_url,
                    "metadata": sku.metadata,
                },
            )
        super().__init__(*args, **kwargs)
        self.product = product
        self.sku = sku
        currency = product.project.currency
        self.fields["price"].currency = currency
        self.fields["price"].label = f"Price ({currency})"
        if product.attributes:
            self.fields[
                "attributes"
            ].help_text = (
                f"A JSON object with the product's attributes: {', '.join(product.attributes)}."
            )
        if sku is not None:
            self.fields["source_id"].disabled = True
            self.fields["source_id"].help_text = "The source id cannot change."

    def clean_source_id(self):
        source_id = (self.cleaned_data.get("source_id") or "").strip()
        taken = Sku.objects.filter(project=self.product.project, source_id=source_id)
        if self.sku is None and source_id and taken.exists():
            raise forms.ValidationError(f"A SKU with source id “{source_id}” already exists.")
        return source_id or None

    def clean_attributes(self) -> dict:
        attributes = self.cleaned_data["attributes"]
        allowed = self.product.attributes or []
        unknown = [key for key in attributes if allowed and key not in allowed]
        if unknown:
            raise forms.ValidationError(
                f"“{unknown[0]}” is not an attribute of this product "
                f"(it has: {', '.join(allowed)}). Add it to the product first."
            )
        return attributes

    def clean_metadata(self) -> dict:
        return _check_metadata(self.product.project, Resource.SKU, self.cleaned_data["metadata"])

    def service_data(self) -> dict:
        data = self.cleaned_data
        return {k: data[k] for k in ("sku", "price", "attributes", "image_url", "metadata")}


class CollectionForm(forms.Form):
    """Name and type of a collection, and the items of a STATIC one. An AUTO_UPDATE filter
    comes from the builder (`filter_definition`)."""

    name = forms.CharField(max_length=255)
    type = forms.ChoiceField(
        choices=CollectionType.choices,
        initial=CollectionType.AUTO_UPDATE,
        widget=forms.RadioSelect,
        help_text="Static: products you pick. Auto-update: every product matching conditions, "
        "now and later.",
    )
    items = forms.CharField(
        required=False,
        label="Products and SKUs",
        widget=forms.Textarea(attrs={**JSON_ATTRS, "rows": 6}),
        help_text="One per line: a product or SKU id (prod_…, sku_…) or source id.",
    )

    def __init__(self, *args, project, collection: ProductCollection | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.project = project
        self.collection = collection
        if collection is not None:
            self.fields["type"].disabled = True
            self.fields["type"].help_text = "The type of a collection cannot change."

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        others = ProductCollection.objects.filter(project=self.project, name=name)
        if self.collection is not None:
            others = others.exclude(pk=self.collection.pk)
        if others.exists():
            raise forms.ValidationError(f"A collection named “{name}” already exists.")
        return name

    def clean_items(self) -> tuple[list[Product], list[Sku]]:
        refs = [
            line.strip()
            for line in (self.cleaned_data.get("items") or "").splitlines()
            if line.strip()
        ]
        refs = list(dict.fromkeys(refs))
        if len(refs) > 1000:
            raise forms.ValidationError("A collection form takes at most 1000 items at once.")
        products = Product.objects.filter(project=self.project)
        skus = Sku.objects.filter(project=self.project)
        by_ref: dict[str, Product | Sku] = {}
        for product in products.filter(public_id__in=refs) | products.filter(source_id__in=refs):
            by_ref.setdefault(product.public_id, product)
            by_ref.setdefault(product.source_id or "", product)
        for sku in skus.filter(public_id__in=refs) | skus.filter(source_id__in=refs):
            by_ref.setdefault(sku.public_id, sku)
            by_ref.setdefault(sku.source_id or "", sku)
        unknown = [ref for ref in refs if ref not in by_ref]
        if unknown:
            shown = ", ".join(unknown[:5]) + ("…" if len(unknown) > 5 else "")
            raise forms.ValidationError(f"No product or SKU with these ids: {shown}")
        chosen = [by_ref[ref] for ref in refs]
        return (
            list({o.pk: o for o in chosen if isinstance(o, Product)}.values()),
            list({o.pk: o for o in chosen if isinstance(o, Sku)}.values()),
        )


MAX_ROWS = 50
ROW_FIELD = re.compile(r"rows-(\d{1,3})-field")


@dataclass
class FilterDefinition:
    """The AUTO_UPDATE filter as the builder shows it: rows or JSON text, and the result."""

    mode: str = "builder"
    builder: Builder = dc_field(default_factory=Builder)
    json_text: str = ""
    error: str = ""
    filter: dict | None = None


def parse_rows(data) -> Builder:
    """Builder rows from form data named `rows-<n>-field/op/value/key` (in index order)."""
    indexes = sorted({int(m.group(1)) for key in data if (m := ROW_FIELD.fullmatch(key))})
    rows = [
        FilterRow(
            field=data.get(f"rows-{i}-field", ""),
            operator=data.get(f"rows-{i}-op", ""),
            value=data.get(f"rows-{i}-value", ""),
            key=data.get(f"rows-{i}-key", ""),
        )
        for i in indexes[:MAX_ROWS]
    ]
    junction = data.get("junction") if data.get("junction") in ("and", "or") else "and"
    return Builder(junction=junction, rows=rows)


def filter_definition(data, *, project, collection=None, preview: bool = False):
    """Read (and apply the builder action in) the posted definition of an AUTO_UPDATE filter.

    `data` None means a first GET: the collection's own filter (or one empty row). Actions:
    `add`, `remove-<n>`, `mode-json`, `mode-builder`, `refresh`; anything else builds the filter
    into `.filter` or sets `.error` (and per-row errors). `preview` skips rows without a value
    yet, so the live count follows what the marketer has typed so far.
    """
    fields = product_filter_fields(project)
    currency = project.currency
    if data is None:
        if collection is not None and collection.type == CollectionType.AUTO_UPDATE:
            builder = filter_to_rows(collection.filter, fields=fields, currency=currency)
            text = json.dumps(collection.filter, indent=2, ensure_ascii=False)
            if builder is None:
                return FilterDefinition(mode="json", json_text=text)
            return FilterDefinition(builder=builder, json_text=text)
        return FilterDefinition(builder=Builder(rows=[FilterRow()]))
    definition = FilterDefinition(
        mode="json" if data.get("mode") == "json" else "builder",
        builder=parse_rows(data),
        json_text=data.get("filter_json", ""),
    )
    action = data.get("_action", "")
    rows = definition.builder.rows
    if action == "add" and len(rows) < MAX_ROWS:
        rows.append(FilterRow())
    elif action.startswith("remove-") and action[7:].isdigit() and int(action[7:]) < len(rows):
        del rows[int(action[7:])]
    elif action == "mode-json":
        definition.mode = "json"
        try:
            built = rows_to_filter(definition.builder, fields=fields, currency=currency)
            definition.json_text = json.dumps(built, indent=2, ensure_ascii=False)
        except FilterError:
            definition.error = "Some conditions are incomplete; the JSON shows the last saved text."
    elif action == "mode-builder":
        parsed = _json_or_none(definition.json_text)
        builder = filter_to_rows(parsed, fields=fields, currency=currency) if parsed else None
        if builder is None and definition.json_text.strip():
            definition.error = "This filter cannot be shown as conditions; edit it as JSON."
        else:
            definition.mode = "builder"
            definition.builder = builder or Builder(rows=[FilterRow()])
    for row in definition.builder.rows:  # operators follow the field's type
        allowed = [op for op, _ in operator_choices(fields, row)]
        if row.operator not in allowed:
            row.operator = allowed[0]
    if action in ("", "save", "preview"):
        _build(definition, fields=fields, currency=currency, preview=preview)
    return definition


def _json_or_none(text: str):
    try:
        return json.loads(text) if text.strip() else None
    except json.JSONDecodeError:
        return None


def _build(definition: FilterDefinition, *, fields, currency: str, preview: bool) -> None:
    if definition.mode == "json":
        text = definition.json_text.strip()
        if not text:
            definition.error = "Enter the filter JSON."
            return
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError as exc:
            definition.error = f"Not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}."
            return
        try:
            product_filter_q(project=None, filter_json=parsed, fields=fields)
        except FilterError as exc:
            definition.error = exc.message
            return
        definition.filter = parsed
        return
    builder = definition.builder
    if preview:
        builder = Builder(
            junction=builder.junction,
            rows=[r for r in builder.rows if r.value.strip() or r.operator in VALUELESS],
        )
    try:
        definition.filter = rows_to_filter(builder, fields=fields, currency=currency)
    except FilterError as exc:
        row_errors = [row.error for row in builder.rows if row.error]
        definition.error = row_errors[0] if preview and row_errors else exc.message
