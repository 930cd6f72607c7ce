"""Believable demo data for `seed_demo`: customers, products with SKUs, collections, orders and
events. Everything is keyed by source_id and written through upserts, so running it again
changes nothing."""

import random
import unicodedata
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from apps.customers.models import Customer, CustomEvent
from apps.demo.campaigns import seed_campaigns
from apps.jobs.models import Job, JobStatus
from apps.metadata.services import metadata_schema_save
from apps.orders.models import Order
from apps.orders.services import order_upsert
from apps.products.models import CollectionItem, CollectionType, Product, ProductCollection
from apps.products.services import product_upsert, sku_upsert
from apps.segments.models import Segment, SegmentType
from apps.segments.services import segment_create, segment_recompute

FIRST = [
    "Anna",
    "Piotr",
    "Maria",
    "Jan",
    "Ewa",
    "Tom",
    "Sara",
    "Lukas",
    "Emma",
    "Noah",
    "Mia",
    "Leo",
    "Zofia",
    "Adam",
    "Julia",
    "Max",
    "Olga",
    "Ivan",
]
LAST = [
    "Nowak",
    "Kowalski",
    "Smith",
    "Müller",
    "Rossi",
    "Dubois",
    "García",
    "Jensen",
    "Novak",
    "Silva",
    "Brown",
    "Wójcik",
    "Berg",
]
CITIES = [
    ("Warsaw", "Poland"),
    ("Kraków", "Poland"),
    ("Berlin", "Germany"),
    ("Munich", "Germany"),
    ("London", "United Kingdom"),
    ("Paris", "France"),
    ("Madrid", "Spain"),
    ("New York", "United States"),
    ("Chicago", "United States"),
    ("Toronto", "Canada"),
]
TIERS = ["Bronze", "Silver", "Gold"]
CATALOG = [
    ("Espresso beans 1kg", 2490, "coffee", {"roast": ["light", "dark"]}),
    ("Filter coffee 500g", 1390, "coffee", {"roast": ["medium", "dark"]}),
    ("Ceramic mug", 1200, "accessories", {"color": ["white", "black", "teal"]}),
    ("Travel tumbler", 2900, "accessories", {"size": ["350ml", "500ml"]}),
    ("Hand grinder", 6900, "equipment", {}),
    ("Pour-over kettle", 5400, "equipment", {"finish": ["steel", "matte black"]}),
    ("Espresso machine", 49900, "equipment", {}),
    ("Milk frother", 3900, "equipment", {}),
    ("Green tea 100g", 990, "tea", {"origin": ["Japan", "China"]}),
    ("Chai blend 250g", 1490, "tea", {}),
    ("Gift box", 4500, "gifts", {}),
    ("Coffee subscription (month)", 3500, "subscriptions", {}),
]
STATUSES = ["PAID"] * 6 + ["FULFILLED"] * 3 + ["CREATED", "CANCELED"]


def ascii_email(local: str) -> str:
    plain = unicodedata.normalize("NFKD", local).encode("ascii", "ignore").decode()
    return f"{plain.lower()}@example.com"


def seed_catalog(project) -> list[Product]:
    metadata_schema_save(
        project=project,
        resource="customer",
        properties={
            "tier": {"type": "string", "optional": True, "allowed": TIERS},
            "newsletter": {"type": "boolean", "optional": True},
        },
        allow_defined_only=False,
    )
    products = []
    for index, (name, price, category, variants) in enumerate(CATALOG, start=1):
        product, _ = product_upsert(
            project=project,
            source_id=f"demo-prod-{index:03d}",
            data={
                "name": name,
                "price": price,
                "attributes": list(variants),
                "metadata": {"category": category},
            },
        )
        products.append(product)
        for attribute, values in variants.items():
            for position, value in enumerate(values, start=1):
                sku_upsert(
                    product=product,
                    source_id=f"demo-sku-{index:03d}-{position}",
                    data={
                        "sku": f"{name} / {value}",
                        "price": price + 100 * (position - 1),
                        "attributes": {attribute: value},
                    },
                )
    _equipment, _ = ProductCollection.objects.get_or_create(
        project=project,
        name="Premium (over $50)",
        defaults={
            "type": CollectionType.AUTO_UPDATE,
            "filter": {"junction": "and", "price": {"conditions": {"$more_than": [5000]}}},
        },
    )
    staff_picks, created = ProductCollection.objects.get_or_create(
        project=project, name="Staff picks", defaults={"type": CollectionType.STATIC}
    )
    if created:
        CollectionItem.objects.bulk_create(
            CollectionItem(collection=staff_picks, product=p) for p in products[:4]
        )
    return products


def seed_customers(project, count: int = 300) -> None:
    rng = random.Random(f"{project.public_id}-customers")  # noqa: S311 (demo data)
    existing = set(
        Customer.objects.filter(project=project, source_id__startswith="demo-cust-").values_list(
            "source_id", flat=True
        )
    )
    now = timezone.now()
    new = []
    for index in range(1, count + 1):
        source_id = f"demo-cust-{index:04d}"
        first, last = rng.choice(FIRST), rng.choice(LAST)
        city, country = rng.choice(CITIES)
        if index % 15 == 0:  # the "Berlin customers" segment is never empty
            city, country = "Berlin", "Germany"
        created = now - timedelta(days=rng.randint(0, 700), minutes=rng.randint(0, 1440))
        customer = Customer(
            project=project,
            source_id=source_id,
            name=f"{first} {last}",
            email=ascii_email(f"{first}.{last}.{index}") if rng.random() > 0.05 else "",
            phone=f"+48 600 {index:03d} {rng.randint(100, 999)}" if rng.random() > 0.4 else "",
            birthdate=(now - timedelta(days=rng.randint(18 * 365, 70 * 365))).date(),
            address_city=city,
            address_country=country,
            address_postal_code=f"{rng.randint(10, 99)}-{rng.randint(100, 999)}",
            metadata={"tier": rng.choice(TIERS), "newsletter": rng.random() > 0.5},
            created_at=created,
        )
        if source_id not in existing:
            new.append(customer)
    Customer.objects.bulk_create(new, batch_size=500)


def seed_orders(project, products: list[Product], count: int = 400) -> None:
    rng = random.Random(f"{project.public_id}-orders")  # noqa: S311 (demo data)
    done = set(
        Order.objects.filter(project=project, source_id__startswith="demo-ord-").values_list(
            "source_id", flat=True
        )
    )
    now = timezone.now()
    for index in range(1, count + 1):
        source_id = f"demo-ord-{index:05d}"
        if source_id in done:
            continue
        lines = rng.sample(products, rng.randint(1, 3))
        order_upsert(
            project=project,
            payload={
                "source_id": source_id,
                "status": rng.choice(STATUSES),
                "customer": {"source_id": f"demo-cust-{rng.randint(1, 300):04d}"},
                "items": [
                    {"product_id": p.public_id, "quantity": rng.randint(1, 3), "price": p.price}
                    for p in lines
                ],
                "metadata": {"channel": rng.choice(["web", "app", "store"])},
                "created_at": (now - timedelta(days=rng.randint(0, 365))).isoformat(),
            },
            imported=True,
        )


def seed_events(project) -> None:
    if CustomEvent.objects.filter(project=project).exists():
        return
    rng = random.Random(f"{project.public_id}-events")  # noqa: S311 (demo data)
    customers = list(
        Customer.objects.filter(project=project, source_id__startswith="demo-cust-")[:120]
    )
    CustomEvent.objects.bulk_create(
        CustomEvent(
            project=project,
            customer=customer,
            name=rng.choice(["newsletter_signup", "left_review", "visited_store", "app_installed"]),
            metadata={"source": rng.choice(["web", "app"])},
        )
        for customer in customers
    )


SEGMENTS = [
    (
        "Berlin customers",
        {"junction": "and", "address.city": {"conditions": {"$is": ["Berlin"]}}},
    ),
    (
        "Spent over 400",
        {"junction": "and", "summary.orders.total_amount": {"conditions": {"$more_than": [40000]}}},
    ),
    (
        "Birthday this month",
        {"junction": "and", "birthdate": {"conditions": {"$this_month": True}}},
    ),
]
VIP_SOURCE_IDS = [f"demo-cust-{index:04d}" for index in (1, 2, 3, 5, 8, 13, 21, 34)]


def seed_segments(project) -> None:
    """Three auto-update segments computed right here (the demo shows sizes without a worker)
    and a static "VIP list". A segment that exists already is left as it is."""
    existing = set(Segment.objects.filter(project=project).values_list("name", flat=True))
    for name, filter in SEGMENTS:
        if name in existing:
            continue
        segment = segment_create(
            project=project, name=name, type=SegmentType.AUTO_UPDATE, filter=filter
        )
        # segment_create enqueued a recompute job for after the commit: run it now, so that job
        # is done by then and its task (eager or on a worker) finds nothing left to do.
        job = (
            Job.objects.filter(project=project, type="segment.recompute", status=JobStatus.ENQUEUED)
            .filter(params__segment=segment.public_id)
            .first()
        )
        segment_recompute(segment_id=segment.pk, job_id=job.pk if job else None)
    if "VIP list" not in existing:
        segment_create(
            project=project,
            name="VIP list",
            type=SegmentType.STATIC,
            customer_ids=VIP_SOURCE_IDS,
        )


def seed_project_data(project) -> None:
    with transaction.atomic():
        products = seed_catalog(project)
        seed_customers(project)
        seed_orders(project, products)
        seed_events(project)
        seed_segments(project)
        seed_campaigns(project)
