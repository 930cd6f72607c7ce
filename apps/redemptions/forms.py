"""The cart simulator's form ("Test a cart").

The cart lives in the query string, so a simulated cart can be bookmarked and shared. Rows repeat
their field names (`item=prod_1&price=25.00&qty=2&item=prod_2&price=&qty=1`); every row renders
all of its fields, so the lists line up and row n is the n-th value of each name. `rows()` cuts
them into one bound form per row.
"""

import re

from django import forms

from apps.core.forms import MoneyField

MAX_ITEMS = 50
MAX_REDEEMABLES = 30  # Voucherify's limit per request
MAX_METADATA = 20  # key/value rows per metadata block

ITEM_FIELDS = ("item", "price", "qty")
REDEEMABLE_FIELDS = ("code", "tier", "credits", "points")
CUSTOMER_META_FIELDS = ("cmeta_key", "cmeta_value")
ORDER_META_FIELDS = ("ometa_key", "ometa_value")
SINGLE_FIELDS = ("customer", "source_id", "amount")
# Every name the cart is made of; anything else in the query string (the search boxes' `q`) is not.
CART_FIELDS = (
    SINGLE_FIELDS + ITEM_FIELDS + REDEEMABLE_FIELDS + CUSTOMER_META_FIELDS + ORDER_META_FIELDS
)

ROW_ID = re.compile(r"^[a-z0-9]{1,16}$")


class CartForm(forms.Form):
    """The fields that appear once: the customer and the order amount."""

    customer = forms.CharField(required=False, max_length=64, label="Customer")
    source_id = forms.CharField(required=False, max_length=255, label="Source ID")
    amount = MoneyField(
        required=False,
        label="Order amount",
        help_text="Used when the cart has no items; with items, their amounts add up to it.",
    )

    def __init__(self, *args, currency: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["amount"].currency = currency

    def clean_customer(self) -> str:
        return self.cleaned_data["customer"].strip()

    def clean_source_id(self) -> str:
        return self.cleaned_data["source_id"].strip()


class ItemForm(forms.Form):
    item = forms.CharField(required=False, max_length=255, label="Product or SKU")
    price = MoneyField(
        required=False, label="Price", help_text="Empty: the product's price from the catalog."
    )
    qty = forms.IntegerField(required=False, min_value=1, max_value=1_000_000, label="Quantity")

    def __init__(self, *args, currency: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["price"].currency = currency

    def clean_item(self) -> str:
        return self.cleaned_data["item"].strip()

    @property
    def is_blank(self) -> bool:
        return not any(str(self.data.get(name, "")).strip() for name in ("item", "price"))


class RedeemableForm(forms.Form):
    code = forms.CharField(required=False, max_length=100, label="Code")
    tier = forms.CharField(required=False, max_length=64, label="Promotion tier")
    credits = MoneyField(
        required=False, label="Gift credits", help_text="Gift cards: how much to use."
    )
    points = forms.IntegerField(
        required=False, min_value=0, max_value=10**12, label="Loyalty points"
    )

    def __init__(self, *args, currency: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["credits"].currency = currency

    def clean_code(self) -> str:
        return self.cleaned_data["code"].strip()

    def clean(self):
        data = super().clean()
        if data.get("code") and data.get("tier"):
            raise forms.ValidationError("Give a code or a promotion tier, not both.")
        if data.get("tier") and (data.get("credits") is not None or data.get("points") is not None):
            raise forms.ValidationError("Gift credits and loyalty points go with a code.")
        return data

    @property
    def is_blank(self) -> bool:
        return not any(str(self.data.get(name, "")).strip() for name in REDEEMABLE_FIELDS)


class MetadataForm(forms.Form):
    key = forms.CharField(required=False, max_length=100, label="Key")
    value = forms.CharField(required=False, max_length=500, label="Value")

    def clean(self):
        data = super().clean()
        if data.get("value", "").strip() and not data.get("key", "").strip():
            raise forms.ValidationError("Give the value a key.")
        return data

    @property
    def is_blank(self) -> bool:
        return not any(str(value).strip() for value in self.data.values())


def rows(data, names: tuple[str, ...], limit: int) -> tuple[list[dict], bool]:
    """The rows of a repeated group, as dicts of one value per name; and whether there were
    more than `limit` (the extra ones are dropped)."""
    lists = [data.getlist(name) for name in names]
    count = max((len(values) for values in lists), default=0)
    cut = [
        {
            name: (values[i] if i < len(values) else "")
            for name, values in zip(names, lists, strict=True)
        }
        for i in range(min(count, limit))
    ]
    return cut, count > limit


def metadata_rows(data, prefix: str) -> tuple[list[dict], bool]:
    """`cmeta_key`/`cmeta_value` rows as dicts with `key` and `value`."""
    found, over = rows(data, (f"{prefix}_key", f"{prefix}_value"), MAX_METADATA)
    return [{"key": row[f"{prefix}_key"], "value": row[f"{prefix}_value"]} for row in found], over
