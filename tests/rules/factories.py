import factory

from apps.rules.models import RuleAssignment, ValidationRule
from tests.projects.factories import ProjectFactory


class ValidationRuleFactory(factory.django.DjangoModelFactory):
    """An order-amount rule (at least 100.00); pass `rules=` for others."""

    class Meta:
        model = ValidationRule

    project = factory.SubFactory(ProjectFactory)
    name = factory.Sequence(lambda n: f"Rule {n}")
    rules = factory.LazyFunction(
        lambda: {
            "1": {"name": "order.amount", "conditions": {"$more_than_or_equal": [10000]}},
            "logic": "1",
        }
    )


class RuleAssignmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RuleAssignment

    rule = factory.SubFactory(ValidationRuleFactory)
    project = factory.SelfAttribute("rule.project")
