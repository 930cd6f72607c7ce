from django import template
from django.conf import settings

from apps.core.money import format_money

register = template.Library()


@register.filter
def money(cents, currency: str | None = None) -> str:
    """`{{ order.amount|money:project.currency }}` → "$1,234.50". Cents in, formatted text out."""
    if cents in (None, ""):
        return ""
    return format_money(int(cents), currency or settings.DEFAULT_CURRENCY)


@register.filter
def bs(bound_field):
    """Render a form field's widget with Bootstrap's classes (and is-invalid when it has errors)."""
    widget = bound_field.field.widget
    input_type = getattr(widget, "input_type", None)
    if input_type in ("checkbox", "radio"):
        css = "form-check-input"
    elif input_type == "select" or widget.__class__.__name__.endswith("Select"):
        css = "form-select"
    else:
        css = "form-control"
    if bound_field.errors:
        css += " is-invalid"
    attrs = {"class": f"{css} {widget.attrs.get('class', '')}".strip()}
    if bound_field.errors:
        attrs["aria-invalid"] = "true"
    if bound_field.help_text:
        attrs["aria-describedby"] = f"{bound_field.auto_id}_help"
    return bound_field.as_widget(attrs=attrs)
