"""Test a cart: the simulator's form read into a cart, the cart turned into Voucherify payloads,
and the engine's answers laid out for the page.

Simulating writes nothing. Validation and qualification run without a session (no lock), and the
customer is only ever named by id: `customer_resolve` upserts a customer described by source_id,
so an ad-hoc customer is sent as the existing customer with that source_id, or not at all (an
anonymous cart). Only Redeem sends the ad-hoc customer as described, as a real redemption would.
"""

import datetime as dt
import re
import secrets
from dataclasses import dataclass, field

from django.db.models import Q
from django.http import QueryDict
from django.utils.http import urlencode

from apps.campaigns.models import Campaign, CampaignType, PromotionTier, Voucher
from apps.core.errors import ApplicationError
from apps.customers.models import Customer
from apps.engine.rules import RULE_NAMES, SUB_RULE_NAMES, Failure
from apps.engine.snapshot import StackingRules
from apps.engine.validation import APPLICABLE, INAPPLICABLE, Outcome, Result
from apps.products.models import Product, Sku

from .forms import (
    CART_FIELDS,
    ITEM_FIELDS,
    MAX_ITEMS,
    MAX_REDEEMABLES,
    REDEEMABLE_FIELDS,
    CartForm,
    ItemForm,
    MetadataForm,
    RedeemableForm,
    metadata_rows,
    rows,
)
from .qualification import Qualification, Qualified, qualification_check
from .services import Validation, validation_check
from .snapshot import code_key, stacking_rules

MAX_SUGGESTIONS = 10
MIN_SUBSTRING = 3  # shorter searches match ids exactly (as the customer list does)
MAX_TIERS = 300
QUALIFICATION_LIMIT = 10


def row_id() -> str:
    """A fresh id for a row's elements (labels, suggestion lists); never sent with the cart."""
    return secrets.token_hex(4)


# -- the cart ------------------------------------------------------------------------------------


@dataclass
class ItemRow:
    form: ItemForm
    uid: str = field(default_factory=row_id)
    product: Product | None = None
    sku: Sku | None = None

    @property
    def found(self) -> bool:
        return self.product is not None or self.sku is not None

    @property
    def ref(self) -> str:
        return self.sku.public_id if self.sku else self.product.public_id if self.product else ""

    @property
    def name(self) -> str:
        if self.sku is not None:
            return f"{self.sku.product.name} · {self.sku.sku}".strip(" ·")
        return self.product.name if self.product else ""

    @property
    def source_id(self) -> str:
        target = self.sku or self.product
        return (target.source_id or "") if target else ""

    @property
    def catalog_price(self) -> int | None:
        if self.sku is not None and self.sku.price is not None:
            return self.sku.price
        product = self.sku.product if self.sku else self.product
        return product.price if product else None

    @property
    def catalog_price_plain(self) -> str:
        """The catalog price as the price box takes it ("25.00"), for its placeholder."""
        price = self.catalog_price
        return "" if price is None else self.form.fields["price"].prepare_value(price)


@dataclass
class Row:
    """A redeemable or a metadata row as shown in the form."""

    form: RedeemableForm | MetadataForm
    uid: str = field(default_factory=row_id)


@dataclass
class Cart:
    form: CartForm
    items: list[ItemRow]
    redeemables: list[Row]
    customer_metadata: list[Row]
    order_metadata: list[Row]
    customer: Customer | None = None  # the existing customer chosen
    known: Customer | None = None  # the existing customer an ad-hoc source_id names
    errors: list[str] = field(default_factory=list)
    fields: list[tuple[str, str]] = field(default_factory=list)  # as sent: for the Redeem form

    @property
    def is_valid(self) -> bool:
        return not self.errors

    @property
    def query(self) -> str:
        """The cart as a query string: the simulator's address for it."""
        return urlencode(self.fields)

    @property
    def source_id(self) -> str:
        return (self.form.cleaned_data.get("source_id") or "") if self.form.is_valid() else ""

    @property
    def stands_for(self) -> Customer | None:
        """The customer validation sees: the one chosen, or the one the source_id names."""
        return self.customer or self.known

    @property
    def filled_items(self) -> list[ItemRow]:
        return [row for row in self.items if row.found]

    @property
    def filled_redeemables(self) -> list[Row]:
        return [row for row in self.redeemables if not row.form.is_blank]

    @property
    def amount(self) -> int | None:
        return self.form.cleaned_data.get("amount") if self.form.is_valid() else None

    @property
    def has_order(self) -> bool:
        return bool(self.filled_items) or self.amount is not None

    @property
    def is_empty(self) -> bool:
        return not (self.has_order or self.filled_redeemables or self.stands_for)

    def order_payload(self) -> dict:
        order: dict = {}
        items = []
        for row in self.filled_items:
            data = row.form.cleaned_data
            line = {"sku_id" if row.sku else "product_id": row.ref, "quantity": data["qty"] or 1}
            if data["price"] is not None:
                line["price"] = data["price"]
            items.append(line)
        if items:
            order["items"] = items
        elif self.amount is not None:
            order["amount"] = self.amount
        metadata = _metadata(self.order_metadata)
        if metadata:
            order["metadata"] = metadata
        return order

    def redeemables_payload(self) -> list[dict]:
        found = []
        for row in self.filled_redeemables:
            data = row.form.cleaned_data
            if data["tier"]:
                found.append({"object": "promotion_tier", "id": data["tier"]})
                continue
            entry = {"object": "voucher", "id": data["code"]}
            if data["credits"] is not None:
                entry["gift"] = {"credits": data["credits"]}
            if data["points"] is not None:
                entry["reward"] = {"points": data["points"]}
            found.append(entry)
        return found

    def _customer_ref(self) -> dict:
        customer = self.stands_for
        return {"customer": {"id": customer.public_id}} if customer else {}

    def validation_payload(self) -> dict:
        return {
            "redeemables": self.redeemables_payload(),
            "order": self.order_payload(),
            **self._customer_ref(),
        }

    def qualification_payload(self) -> dict:
        return {
            "order": self.order_payload(),
            "options": {"limit": QUALIFICATION_LIMIT},
            **self._customer_ref(),
        }

    def redemption_payload(self) -> dict:
        """What Redeem sends: the ad-hoc customer as described (Voucherify upserts it)."""
        payload = {"redeemables": self.redeemables_payload(), "order": self.order_payload()}
        if self.customer is not None:
            payload["customer"] = {"id": self.customer.public_id}
        elif self.source_id:
            payload["customer"] = {"source_id": self.source_id}
            metadata = _metadata(self.customer_metadata)
            if metadata:
                payload["customer"]["metadata"] = metadata
        return payload

    def in_cart(self, project) -> set[tuple[str, str]]:
        found = set()
        for row in self.filled_redeemables:
            data = row.form.cleaned_data if row.form.is_valid() else {}
            if data.get("tier"):
                found.add(("promotion_tier", data["tier"]))
            elif data.get("code"):
                found.add(("voucher", code_key(project, data["code"])))
        return found


def _metadata(rows_: list[Row]) -> dict:
    found = {}
    for row in rows_:
        if row.form.is_blank or not row.form.is_valid():
            continue
        found[row.form.cleaned_data["key"].strip()] = metadata_value(row.form.cleaned_data["value"])
    return found


NUMBER = re.compile(r"-?\d+(\.\d+)?")


def metadata_value(text: str):
    """What a metadata value box holds: true/false and numbers are sent as such, "quoted" text
    as the text inside the quotes, anything else as text."""
    text = text.strip()
    if text in ("true", "false"):
        return text == "true"
    if NUMBER.fullmatch(text):
        return float(text) if "." in text else int(text)
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1]
    return text


def read_cart(project, data) -> Cart:
    """The cart in `data` (request.GET or request.POST), checked; `cart.errors` says what is
    wrong in words ("Item 2 · Price: …")."""
    currency = project.currency
    form = CartForm(data, currency=currency)
    item_data, too_many_items = rows(data, ITEM_FIELDS, MAX_ITEMS)
    redeemable_data, too_many_redeemables = rows(data, REDEEMABLE_FIELDS, MAX_REDEEMABLES)
    cmeta, too_many_cmeta = metadata_rows(data, "cmeta")
    ometa, too_many_ometa = metadata_rows(data, "ometa")
    cart = Cart(
        form=form,
        items=[ItemRow(ItemForm(row, currency=currency)) for row in item_data],
        redeemables=[Row(RedeemableForm(row, currency=currency)) for row in redeemable_data],
        customer_metadata=[Row(MetadataForm(row)) for row in cmeta],
        order_metadata=[Row(MetadataForm(row)) for row in ometa],
        fields=[(name, value) for name in CART_FIELDS for value in data.getlist(name)],
    )
    errors = cart.errors
    if too_many_items:
        errors.append(f"A simulated cart has at most {MAX_ITEMS} items.")
    if too_many_redeemables:
        errors.append(f"At most {MAX_REDEEMABLES} codes and promotion tiers per cart.")
    if too_many_cmeta or too_many_ometa:
        errors.append("At most 20 metadata entries each for the customer and the order.")
    errors += _form_errors(form, "")
    if form.is_valid():
        _read_customer(project, cart)
    _read_items(project, cart)
    for number, row in enumerate(cart.redeemables, 1):
        if not row.form.is_blank:
            errors += _form_errors(row.form, f"Code or tier {number}")
    for label, metadata in (
        ("Customer metadata", cart.customer_metadata),
        ("Order metadata", cart.order_metadata),
    ):
        for number, row in enumerate(metadata, 1):
            if not row.form.is_blank:
                errors += _form_errors(row.form, f"{label} {number}")
    return cart


def _form_errors(form, where: str) -> list[str]:
    if form.is_valid():
        return []
    found = []
    for name, messages in form.errors.items():
        label = "" if name == "__all__" else form.fields[name].label
        prefix = " · ".join(part for part in (where, label) if part)
        found += [f"{prefix}: {message}" if prefix else message for message in messages]
    return found


def _read_customer(project, cart: Cart) -> None:
    data = cart.form.cleaned_data
    if data["customer"]:
        cart.customer = Customer.objects.filter(project=project, public_id=data["customer"]).first()
        if cart.customer is None:
            cart.errors.append(f"Customer: no customer {data['customer']} in this project.")
    elif data["source_id"]:
        cart.known = Customer.objects.filter(project=project, source_id=data["source_id"]).first()


def _read_items(project, cart: Cart) -> None:
    def ref_of(row: ItemRow) -> str:
        return str(row.form.data.get("item", "")).strip()[:255]

    products, skus = catalog(project, {ref_of(row) for row in cart.items} - {""})
    for number, row in enumerate(cart.items, 1):
        if row.form.is_blank:
            continue
        where, ref = f"Item {number}", ref_of(row)
        row.sku = skus.get(ref)
        row.product = None if row.sku else products.get(ref)
        if not ref:
            cart.errors.append(f"{where}: choose a product.")
        elif not row.found:
            cart.errors.append(f"{where}: there is no product or SKU “{ref}” in this project.")
        if not row.form.is_valid():
            cart.errors.extend(_form_errors(row.form, where))
        elif row.found and row.form.cleaned_data["price"] is None and row.catalog_price is None:
            cart.errors.append(f"{where}: {row.name or ref} has no catalog price; enter one.")


def catalog(project, refs: set[str]) -> tuple[dict[str, Product], dict[str, Sku]]:
    """Products and SKUs named by public id or source id, in two queries."""
    if not refs:
        return {}, {}
    products, skus = {}, {}
    for product in Product.objects.filter(project=project).filter(
        Q(public_id__in=refs) | Q(source_id__in=refs)
    ):
        products[product.public_id] = product
        if product.source_id:
            products.setdefault(product.source_id, product)
    for sku in (
        Sku.objects.filter(project=project)
        .filter(Q(public_id__in=refs) | Q(source_id__in=refs))
        .select_related("product")
    ):
        skus[sku.public_id] = sku
        if sku.source_id and sku.source_id not in products:
            skus.setdefault(sku.source_id, sku)
    return products, skus


def start_query(project, campaign_id: str) -> QueryDict:
    """`?campaign=camp_…` from a campaign's page: the cart starts with one of its codes, or its
    promotion tiers. An unknown campaign starts an empty cart."""
    query = QueryDict(mutable=True)
    campaign = Campaign.objects.filter(project=project, public_id=campaign_id).first()
    if campaign is None:
        return query
    if campaign.campaign_type == CampaignType.PROMOTION:
        tiers = PromotionTier.objects.filter(campaign=campaign, active=True).order_by(
            "hierarchy", "pk"
        )
        for tier_id in tiers.values_list("public_id", flat=True)[:MAX_REDEEMABLES]:
            query.appendlist("code", "")
            query.appendlist("tier", tier_id)
            query.appendlist("credits", "")
            query.appendlist("points", "")
        return query
    code = (
        Voucher.objects.filter(campaign=campaign, active=True)
        .order_by("pk")
        .values_list("code", flat=True)
        .first()
    )
    if code:
        query.update({"code": code, "tier": "", "credits": "", "points": ""})
    return query


# -- look-ups for the pickers --------------------------------------------------------------------


def customer_suggestions(project, q: str) -> list[Customer]:
    q = q.strip()
    if not q:
        return []
    condition = Q(source_id=q) | Q(public_id=q)
    if len(q) >= MIN_SUBSTRING:
        condition |= Q(name__icontains=q) | Q(email__icontains=q)
    return list(
        Customer.objects.filter(project=project)
        .filter(condition)
        .order_by("name", "pk")[:MAX_SUGGESTIONS]
    )


@dataclass
class ProductSuggestion:
    ref: str
    name: str
    source_id: str
    price: int | None
    is_sku: bool


def product_suggestions(project, q: str) -> list[ProductSuggestion]:
    """Products, then SKUs, named like `q` (or with `q` as id or source id); ten at most."""
    q = q.strip()
    if not q:
        return []
    found = []
    exact = Q(source_id=q) | Q(public_id=q)
    products = Product.objects.filter(project=project).filter(
        exact | Q(name__icontains=q) if len(q) >= MIN_SUBSTRING else exact
    )
    for product in products.order_by("name", "pk")[:MAX_SUGGESTIONS]:
        found.append(
            ProductSuggestion(
                product.public_id, product.name, product.source_id or "", product.price, False
            )
        )
    left = MAX_SUGGESTIONS - len(found)
    if left > 0:
        skus = (
            Sku.objects.filter(project=project)
            .filter(exact | Q(sku__icontains=q) if len(q) >= MIN_SUBSTRING else exact)
            .select_related("product")
            .order_by("sku", "pk")[:left]
        )
        for sku in skus:
            price = sku.price if sku.price is not None else sku.product.price
            name = f"{sku.product.name} · {sku.sku}".strip(" ·")
            found.append(ProductSuggestion(sku.public_id, name, sku.source_id or "", price, True))
    return found


@dataclass
class TierChoices:
    groups: list[tuple[str, list[tuple[str, str]]]]  # (campaign name, [(tier id, label)])
    ids: set[str]


def tier_choices(project) -> TierChoices:
    """The project's promotion tiers by campaign, for the tier select (one query)."""
    tiers = (
        PromotionTier.objects.filter(project=project)
        .select_related("campaign")
        .order_by("campaign__name", "campaign_id", "hierarchy", "pk")[:MAX_TIERS]
    )
    groups: dict[str, list[tuple[str, str]]] = {}
    for tier in tiers:
        off = "" if tier.active and tier.campaign.active else " (inactive)"
        groups.setdefault(tier.campaign.name, []).append((tier.public_id, f"{tier.name}{off}"))
    return TierChoices(
        list(groups.items()), {tier_id for options in groups.values() for tier_id, _ in options}
    )


# -- the answers, laid out -----------------------------------------------------------------------


@dataclass
class FailureView:
    failure: Failure

    @property
    def label(self) -> str:
        spec = RULE_NAMES.get(self.failure.name) or SUB_RULE_NAMES.get(self.failure.name)
        return spec[1] if spec else self.failure.name


@dataclass
class Judged:
    """One redeemable's verdict."""

    result: Result

    @property
    def redeemable(self):
        return self.result.redeemable

    @property
    def is_tier(self) -> bool:
        return self.redeemable.object == "promotion_tier"

    @property
    def failures(self) -> list[FailureView]:
        return [FailureView(failure) for failure in self.result.failures]

    @property
    def failed_rule(self):
        """The validation rule that said no: the explanation starts with its name."""
        if not self.result.failures:
            return None
        return next(
            (
                rule
                for rule in self.redeemable.rules
                if self.result.explanation.startswith(f"{rule.name}: ")
            ),
            None,
        )

    @property
    def custom_message(self) -> str:
        if self.result.status != INAPPLICABLE:
            return ""
        return (self.result.error().get("error") or {}).get("message", "")

    @property
    def added_units(self) -> int:
        return sum(self.result.added.values())


@dataclass
class Line:
    index: int
    name: str
    ref: str
    quantity: int
    price: int
    amount: int
    discount: int
    added: int

    @property
    def after(self) -> int:
        return max(0, self.amount - self.discount)


@dataclass
class Verdict:
    """An engine outcome as the page shows it: verdicts in the order they applied, the totals
    and the lines with their discounts and free units."""

    outcome: Outcome
    judged: list[Judged]
    lines: list[Line]

    @property
    def valid(self) -> bool:
        return self.outcome.valid

    @property
    def totals(self):
        return self.outcome.totals

    @property
    def credits(self) -> int:
        return sum(j.result.credits for j in self.judged if j.result.status == APPLICABLE)

    @property
    def points(self) -> int:
        return sum(j.result.points for j in self.judged if j.result.status == APPLICABLE)


def verdict(outcome: Outcome) -> Verdict:
    applied = [result for result in outcome.results if result.status == APPLICABLE]
    lines = []
    for index, item in enumerate(outcome.items):
        lines.append(
            Line(
                index=index,
                name=item.name or item.sku_id or item.product_id or f"Line {index + 1}",
                ref=item.sku_id or item.product_id,
                quantity=item.quantity,
                price=item.price,
                amount=item.amount,
                discount=outcome.totals.items.get(index, 0),
                added=sum(result.added.get(index, 0) for result in applied),
            )
        )
    return Verdict(outcome, [Judged(result) for result in outcome.results], lines)


@dataclass
class Offer:
    """A qualifying redeemable, and whether "Add" can put it in the cart."""

    qualified: Qualified
    in_cart: bool

    @property
    def ref(self):
        return self.qualified.ref

    @property
    def result(self) -> Result:
        return self.qualified.result

    @property
    def add_query(self) -> str:
        """The new redeemable row's query: a code, or a tier; none for a campaign."""
        if self.ref.object == "voucher":
            return urlencode({"kind": "redeemable", "code": self.ref.id})
        if self.ref.object == "promotion_tier":
            return urlencode({"kind": "redeemable", "tier": self.ref.id})
        return ""


@dataclass
class Simulation:
    stacking: StackingRules
    qualification: Qualification | None = None
    qualification_error: ApplicationError | None = None
    validation: Validation | None = None
    validation_error: ApplicationError | None = None
    verdict: Verdict | None = None
    in_cart: set = field(default_factory=set)

    @property
    def offers(self) -> list[Offer]:
        if self.qualification is None:
            return []
        offers = []
        for qualified in self.qualification.redeemables:
            ref = qualified.ref
            if ref.object == "voucher" and ref.voucher is not None:
                key = ("voucher", ref.voucher.code_key)
            else:
                key = (ref.object, ref.id)
            offers.append(Offer(qualified, key in self.in_cart))
        return offers


def simulate(project, cart: Cart, *, now: dt.datetime | None = None) -> Simulation:
    """Qualification and validation of the cart; neither writes anything (see the module doc)."""
    simulation = Simulation(stacking=stacking_rules(project), in_cart=cart.in_cart(project))
    if not cart.is_valid or cart.is_empty:
        return simulation
    try:
        simulation.qualification = qualification_check(
            project=project, payload=cart.qualification_payload(), now=now
        )
    except ApplicationError as exc:
        simulation.qualification_error = exc
    if cart.filled_redeemables:
        try:
            simulation.validation = validation_check(
                project=project, payload=cart.validation_payload(), now=now
            )
        except ApplicationError as exc:
            simulation.validation_error = exc
        else:
            simulation.verdict = verdict(simulation.validation.outcome)
    return simulation
