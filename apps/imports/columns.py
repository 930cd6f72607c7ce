"""Which columns each kind of import understands, their friendly aliases, and the default mapping.

A mapping is one target per file column: a known field ("email"), `metadata.<key>`, or "" to
ignore the column. Unknown columns are offered as `metadata.<column>` by default.
"""

import re
from dataclasses import dataclass

from .models import ImportKind

METADATA_PREFIX = "metadata."
IGNORE = ""
MAX_METADATA_KEY = 100


@dataclass(frozen=True)
class Column:
    name: str
    label: str
    required: bool = False
    aliases: tuple[str, ...] = ()
    help: str = ""


ID_CHECK = Column(
    "id",
    "id (checked, never changed)",
    help="The object's public id. When given it must belong to the row's source_id.",
)

CATALOG: dict[str, tuple[Column, ...]] = {
    ImportKind.CUSTOMERS: (
        Column("source_id", "source_id", required=True, aliases=("customer_source_id",)),
        ID_CHECK,
        Column("name", "name", aliases=("full_name", "customer_name")),
        Column("email", "email", aliases=("email_address", "e_mail")),
        Column("phone", "phone", aliases=("phone_number", "telephone", "mobile")),
        Column("birthdate", "birthdate", aliases=("birthday", "date_of_birth", "dob")),
        Column("description", "description"),
        Column("address_line_1", "address line 1", aliases=("address", "line_1", "address1")),
        Column("address_line_2", "address line 2", aliases=("line_2", "address2")),
        Column("address_city", "city", aliases=("city", "town")),
        Column("address_state", "state", aliases=("state", "region", "province")),
        Column(
            "address_postal_code",
            "postal code",
            aliases=("postal_code", "postcode", "post_code", "zip", "zip_code"),
        ),
        Column("address_country", "country", aliases=("country",)),
    ),
    ImportKind.PRODUCTS: (
        Column("source_id", "source_id", required=True, aliases=("product_source_id",)),
        ID_CHECK,
        Column("name", "name", aliases=("product_name", "title")),
        Column("price", "price", help="In major units, e.g. 12.50"),
        Column("image_url", "image URL", aliases=("image",)),
        Column("attributes", "attributes", help='SKU attribute names: "color,size" or JSON list'),
    ),
    ImportKind.SKUS: (
        Column("source_id", "source_id", required=True, aliases=("sku_source_id",)),
        Column(
            "product_source_id",
            "product source_id",
            required=True,
            aliases=("product", "product_source"),
        ),
        ID_CHECK,
        Column("sku", "SKU name", aliases=("sku_name", "name")),
        Column("price", "price", help="In major units, e.g. 12.50"),
        Column("image_url", "image URL", aliases=("image",)),
        Column("attributes", "attributes", help='A JSON object, e.g. {"color": "red"}'),
    ),
    ImportKind.ORDERS: (
        Column("source_id", "source_id", required=True, aliases=("order_source_id",)),
        Column("status", "status", required=True, aliases=("order_status",)),
        Column("amount", "amount", help="In major units, e.g. 120.00 (or give items)"),
        Column("discount_amount", "discount amount", aliases=("discount",)),
        Column(
            "customer_source_id",
            "customer source_id",
            required=True,
            aliases=("customer", "customer_source"),
        ),
        Column("created_at", "created at", aliases=("date", "order_date")),
        Column("items", "items", help="JSON list of Voucherify order items (minor units)"),
    ),
    ImportKind.VOUCHERS: (
        Column(
            "code",
            "code",
            required=True,
            aliases=("voucher_code", "voucher", "coupon", "coupon_code"),
            help="Up to 100 characters, no spaces. Existing codes are refused, never updated.",
        ),
        Column(
            "campaign",
            "campaign (name or id)",
            aliases=("campaign_name", "campaign_id"),
            help="Empty: a standalone voucher. Codes take the campaign's settings; the row's "
            "columns replace them.",
        ),
        Column(
            "type",
            "voucher type",
            aliases=("voucher_type",),
            help="DISCOUNT_VOUCHER, GIFT_VOUCHER or LOYALTY_CARD (default: the campaign's, or "
            "DISCOUNT_VOUCHER)",
        ),
        Column(
            "discount_type",
            "discount type",
            help="AMOUNT, PERCENT or FIXED (or leave empty and fill one value column)",
        ),
        Column("amount_off", "amount off", help="In major units, e.g. 10.00"),
        Column("percent_off", "percent off", aliases=("percent",), help="e.g. 15 or 12.5"),
        Column("amount_limit", "amount limit", help="Most a percent discount gives, e.g. 20.00"),
        Column("fixed_amount", "fixed amount", help="The price to pay, in major units"),
        Column("discount_effect", "discount effect", aliases=("effect",)),
        Column("gift_amount", "gift card amount", aliases=("gift_balance",), help="e.g. 50.00"),
        Column("loyalty_points", "loyalty points", aliases=("loyalty_balance", "points")),
        Column(
            "redemption_quantity",
            "redemption limit",
            aliases=("redemption_limit",),
            help="Redemptions per code; empty = the campaign's (or unlimited)",
        ),
        Column("active", "active", aliases=("enabled",), help="true/false (default true)"),
        Column(
            "start_date",
            "start date",
            aliases=("valid_from",),
            help="2026-01-31 or 2026-01-31T09:00:00Z; without a zone, the project's",
        ),
        Column(
            "expiration_date",
            "expiration date",
            aliases=("valid_until", "expires_at"),
            help="A date alone means the end of that day",
        ),
        Column("category", "category (name or id)", aliases=("category_name", "category_id")),
        Column("additional_info", "additional info", aliases=("notes",)),
    ),
}

# Columns that Voucherify-style exports carry but imports must not write.
IGNORED_BY_DEFAULT = {
    ImportKind.CUSTOMERS: {"object", "created_at", "updated_at"},
    ImportKind.PRODUCTS: {"object", "created_at", "updated_at", "skus"},
    ImportKind.SKUS: {"object", "created_at", "updated_at", "product_id"},
    ImportKind.ORDERS: {"object", "id", "updated_at", "total_amount", "total_discount_amount"},
    # what a voucher export carries besides the importable columns
    ImportKind.VOUCHERS: {
        "object",
        "id",
        "created_at",
        "updated_at",
        "redemption_count",
        "redeemed_quantity",
        "published",
        "holder",
        "holder_id",
        "customer",
        "qr_code",
        "bar_code",
        "is_referral_code",
        "value",
    },
}

# Required columns beyond the `required` flags: orders need an amount or items.
ONE_OF = {ImportKind.ORDERS: (("amount", "items"),)}


def columns(kind: str) -> tuple[Column, ...]:
    return CATALOG[kind]


def field_names(kind: str) -> list[str]:
    return [column.name for column in CATALOG[kind]]


def normalise(header: str) -> str:
    """ "Postal Code" → "postal_code", "address.city" → "address_city"."""
    text = header.strip().lstrip("\ufeff").lower()
    return re.sub(r"[\s.\-/]+", "_", text).strip("_")


def metadata_key(header: str) -> str:
    """The metadata key a column feeds: "metadata.tier" → "tier", "VIP level" → "VIP_level"."""
    text = header.strip().lstrip("\ufeff")
    if text.lower().startswith(METADATA_PREFIX):
        text = text[len(METADATA_PREFIX) :]
    return re.sub(r"\s+", "_", text.strip())


def default_target(kind: str, header: str) -> str:
    if header.strip().lower().startswith(METADATA_PREFIX):
        key = metadata_key(header)
        return METADATA_PREFIX + key if key else IGNORE
    name = normalise(header)
    if not name:
        return IGNORE
    for column in CATALOG[kind]:
        if name == column.name or name in column.aliases:
            return column.name
    if name in IGNORED_BY_DEFAULT[kind]:
        return IGNORE
    return METADATA_PREFIX + metadata_key(header)


def default_mapping(kind: str, header: list[str]) -> list[str]:
    mapping, taken = [], set()
    for name in header:
        target = default_target(kind, name)
        if target in taken:
            target = IGNORE  # the first column with a name wins; repeats are ignored
        if target:
            taken.add(target)
        mapping.append(target)
    return mapping


def target_choices(kind: str, header_name: str) -> list[tuple[str, str]]:
    """The options of one column's select: ignore, every known field, and metadata.<column>."""
    key = metadata_key(header_name)
    choices = [(IGNORE, "— ignore this column —")]
    choices += [(column.name, column.label) for column in CATALOG[kind]]
    if key:
        choices.append((METADATA_PREFIX + key, f"metadata.{key}"))
    return choices


def mapping_errors(kind: str, header: list[str], mapping: list[str]) -> list[str]:
    """Problems that stop an import before any row is read (plain sentences)."""
    errors = []
    if len(mapping) != len(header):
        return ["The mapping does not match the file's columns; upload the file again."]
    known = set(field_names(kind))
    seen: dict[str, str] = {}
    for name, target in zip(header, mapping, strict=True):
        if not target:
            continue
        if target.startswith(METADATA_PREFIX):
            key = target[len(METADATA_PREFIX) :]
            if not key or len(key) > MAX_METADATA_KEY or '"' in key or "\\" in key:
                errors.append(
                    f"Column “{name}”: “{key}” cannot be a metadata key (1-{MAX_METADATA_KEY} "
                    "characters, no quotes or backslashes)."
                )
                continue
        elif target not in known:
            errors.append(f"Column “{name}”: “{target}” is not a field of {kind}.")
            continue
        if target in seen:
            errors.append(f"Columns “{seen[target]}” and “{name}” both go to {target}.")
        seen[target] = name
    for column in CATALOG[kind]:
        if column.required and column.name not in seen:
            errors.append(f"The file needs a {column.name} column (none is mapped to it).")
    for group in ONE_OF.get(kind, ()):
        if not any(target in seen for target in group):
            errors.append(f"The file needs a {' or '.join(group)} column.")
    return errors
