"""Demo campaigns for `seed_demo`: one of each type with a few codes, two categories and some
publications to demo customers. Created through the services (as the dashboard and the API do);
whatever exists already (by name, by publication source_id) is left alone."""

from apps.campaigns import services
from apps.campaigns.models import Campaign, Category, Publication
from apps.core.errors import ApplicationError
from apps.customers.models import Customer

CATEGORIES = [
    {"name": "Newsletter", "hierarchy": 1},
    {"name": "Seasonal", "hierarchy": 2, "stacking_rules_type": "EXCLUSIVE"},
]
CAMPAIGNS = [
    {
        "name": "Welcome 10% off",
        "campaign_type": "DISCOUNT_COUPONS",
        "type": "STATIC",
        "category": "Newsletter",
        "description": "One code per newsletter subscriber.",
        "vouchers_count": 50,
        "join_once": True,
        "voucher": {
            "discount": {"type": "PERCENT", "percent_off": 10, "effect": "APPLY_TO_ORDER"},
            "redemption": {"quantity": 1},
            "code_config": {"pattern": "WELCOME-####", "charset": "alphanumeric_upper"},
        },
        "metadata": {"owner": "CRM team"},
    },
    {
        "name": "Gift cards 50",
        "campaign_type": "GIFT_VOUCHERS",
        "type": "STATIC",
        "vouchers_count": 20,
        "voucher": {
            "gift": {"amount": 5000, "effect": "APPLY_TO_ORDER"},
            "code_config": {"prefix": "GIFT-", "length": 10, "charset": "alphanumeric_upper"},
        },
    },
    {
        "name": "Refer a friend",
        "campaign_type": "REFERRAL_PROGRAM",
        "type": "AUTO_UPDATE",
        "vouchers_count": 10,
        "voucher": {
            "discount": {"type": "AMOUNT", "amount_off": 1500, "effect": "APPLY_TO_ORDER"},
            "code_config": {"prefix": "REF-", "length": 6, "charset": "alphanumeric_upper"},
        },
    },
    {
        "name": "Loyalty card",
        "campaign_type": "LOYALTY_PROGRAM",
        "type": "AUTO_UPDATE",
        "vouchers_count": 10,
        "auto_join": True,
        "voucher": {
            "loyalty_card": {"points": 0},
            "code_config": {"prefix": "LOY-", "length": 8, "charset": "numbers"},
        },
    },
    {
        "name": "Spring sale",
        "campaign_type": "PROMOTION",
        "category": "Seasonal",
        "description": "Automatic discounts by order value.",
        "promotion": {
            "tiers": [
                {
                    "name": "10% off orders above 100.00",
                    "action": {"discount": {"type": "PERCENT", "percent_off": 10}},
                },
                {
                    "name": "15% off orders above 200.00",
                    "action": {"discount": {"type": "PERCENT", "percent_off": 15}},
                },
                {
                    "name": "50.00 off orders above 400.00",
                    "action": {"discount": {"type": "AMOUNT", "amount_off": 5000}},
                },
            ]
        },
    },
]
# (publication source_id, campaign name, customer source_id)
PUBLICATIONS = [
    *[(f"demo-pub-welcome-{i}", "Welcome 10% off", f"demo-cust-{i:04d}") for i in range(1, 9)],
    ("demo-pub-gift-1", "Gift cards 50", "demo-cust-0002"),
    ("demo-pub-gift-2", "Gift cards 50", "demo-cust-0005"),
    ("demo-pub-ref-1", "Refer a friend", "demo-cust-0003"),
    ("demo-pub-loyalty-1", "Loyalty card", "demo-cust-0001"),
    ("demo-pub-loyalty-2", "Loyalty card", "demo-cust-0004"),
]


def seed_campaigns(project) -> None:
    names = set(Category.objects.filter(project=project).values_list("name", flat=True))
    for category in CATEGORIES:
        if category["name"] not in names:
            services.category_create(project=project, payload=category)
    existing = set(Campaign.objects.filter(project=project).values_list("name", flat=True))
    for payload in CAMPAIGNS:
        if payload["name"] not in existing:
            # every campaign has at most 100 codes: generated right here, no job
            services.campaign_create(project=project, payload=payload)
    seed_publications(project)


def seed_publications(project) -> None:
    done = set(
        Publication.objects.filter(project=project, source_id__startswith="demo-pub-").values_list(
            "source_id", flat=True
        )
    )
    wanted = [entry for entry in PUBLICATIONS if entry[0] not in done]
    customers = {
        customer.source_id: customer
        for customer in Customer.objects.filter(
            project=project, source_id__in=[entry[2] for entry in wanted]
        )
    }
    for source_id, campaign, customer_id in wanted:
        if customer_id not in customers:
            continue
        try:
            services.publication_create(
                project=project,
                customer=customers[customer_id],
                campaign=campaign,
                source_id=source_id,
                channel="voucherify-website",
            )
        except ApplicationError:
            continue  # e.g. the campaign was edited or emptied since: the demo goes on
