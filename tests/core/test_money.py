import pytest
from django import forms
from django.template import Context, Template

from apps.core.forms import MoneyField
from apps.core.money import MoneyParseError, format_money, format_plain, parse_money


@pytest.mark.parametrize(
    ("text", "currency", "cents"),
    [
        ("12.50", "USD", 1250),
        ("12.5", "USD", 1250),
        ("12", "USD", 1200),
        ("1,234.56", "USD", 123456),
        (" 0.01 ", "EUR", 1),
        ("0", "USD", 0),
        ("1500", "JPY", 1500),
        ("1.234", "BHD", 1234),
        ("99999999999.99", "USD", 9999999999999),
    ],
)
def test_parse_money_is_exact(text, currency, cents):
    assert parse_money(text, currency) == cents


@pytest.mark.parametrize(
    ("text", "currency", "message"),
    [
        ("12.345", "USD", "at most 2 decimal places"),
        ("12.5", "JPY", "no decimal places"),
        ("abc", "USD", "is not an amount"),
        ("", "USD", "Enter an amount"),
        ("-1.00", "USD", "cannot be negative"),
        ("NaN", "USD", "is not an amount"),
        ("Infinity", "USD", "is not an amount"),
    ],
)
def test_parse_money_rejects_bad_input_with_a_reason(text, currency, message):
    with pytest.raises(MoneyParseError, match=message):
        parse_money(text, currency)


def test_negative_amounts_only_when_allowed():
    assert parse_money("-3.10", "USD", allow_negative=True) == -310


def test_format_money_uses_the_currency():
    assert format_money(123456, "USD") == "$1,234.56"
    assert format_money(1250, "EUR") == "€12.50"
    assert format_money(1500, "JPY") == "¥1,500"
    assert format_money(-500, "USD") == "-$5.00"
    assert format_plain(1250, "USD") == "12.50"
    assert format_plain(7, "BHD") == "0.007"


def test_money_template_filter():
    rendered = Template("{{ a|money:cur }} {{ b|money }} [{{ c|money }}]").render(
        Context({"a": 1999, "cur": "EUR", "b": 100, "c": None})
    )
    assert rendered == "€19.99 $1.00 []"


class PriceForm(forms.Form):
    price = MoneyField(currency="EUR")


def test_money_field_cleans_to_cents_and_shows_major_units():
    form = PriceForm({"price": "19.99"})
    assert form.is_valid()
    assert form.cleaned_data["price"] == 1999
    assert 'value="19.99"' in str(PriceForm(initial={"price": 1999})["price"])


def test_money_field_reports_errors():
    form = PriceForm({"price": "19.999"})
    assert not form.is_valid()
    assert "EUR amounts have at most 2 decimal places" in form.errors["price"][0]
