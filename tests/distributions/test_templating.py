import pytest

from apps.distributions.templating import (
    CompiledMessage,
    TemplateError,
    check_templates,
    customer_context,
    sample_context,
)
from tests.customers.factories import CustomerFactory


@pytest.mark.parametrize(
    "source, message",
    [
        ("{% load i18n %}", "{% load %} is not available"),
        ('{% include "base.html" %}', "{% include %} is not available"),
        ('{% extends "base.html" %}', "{% extends %} is not available"),
        ("{% debug %}", "{% debug %} is not available"),
        ("{% autoescape off %}{{ x }}{% endautoescape %}", "{% autoescape %} is not available"),
        ('{% url "login" %}', "{% url %} is not available"),
        ("{% csrf_token %}", "{% csrf_token %} is not available"),
        ("{{ customer.name|safe }}", "Invalid filter: 'safe'"),
        ("{{ customer.__class__ }}", "may not begin with underscores"),
        ("{{ customer._meta }}", "may not begin with underscores"),
        ("{% if %}", "Unexpected end of expression"),
    ],
)
def test_unsafe_or_broken_templates_are_refused_with_a_reason(source, message):
    with pytest.raises(TemplateError) as caught:
        CompiledMessage(subject="", html=source, text="")
    assert message in caught.value.message
    assert caught.value.field == "body_html"


@pytest.mark.django_db
def test_the_context_is_plain_values_only():
    customer = CustomerFactory(name="<b>Ann</b>", metadata={"tier": "gold", "_secret": "x"})
    context = {**sample_context(), "customer": customer_context(customer)}
    message = CompiledMessage(
        subject="{{ customer.name }}",
        html="<p>{{ customer.name }}|{{ customer.project }}|{{ customer.project.name }}|"
        "{{ customer.metadata.tier }}|{{ customer.metadata.secret }}</p>",
        text="{{ customer.name }} {{ customer.metadata }}",
    ).render(context)
    # HTML escapes the customer's data; nothing reaches the project or private keys
    assert message.html == "<p>&lt;b&gt;Ann&lt;/b&gt;|||gold|</p>"
    assert message.subject == "<b>Ann</b>"
    assert message.text == "<b>Ann</b> {'tier': 'gold'}"


def test_the_allowed_language_works():
    message = CompiledMessage(
        subject="  Hi\n{{ customer.name|default:'there' }} ",
        html="{% for key, value in customer.metadata.items %}{{ key }}={{ value }};{% endfor %}",
        text="{% if voucher.code %}Code {{ voucher.code|lower }}{% else %}none{% endif %}",
    ).render({**sample_context(), "customer": {"name": "", "metadata": {"a": 1, "b": 2}}})
    assert message.subject == "Hi there"
    assert message.html == "a=1;b=2;"
    assert message.text == "Code sample-code"


def test_check_templates_names_the_broken_part():
    assert check_templates(subject="Hi", html="<p>ok</p>", text="fine") == {}
    errors = check_templates(subject="{{ x|nope }}", html="{% for %}", text="ok")
    assert set(errors) == {"subject", "body_html"}
    assert "Invalid filter: 'nope'" in errors["subject"]
