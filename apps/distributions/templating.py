"""Message templates: Django's template language in a sandbox.

Templates are written by marketers and filled with customer data, so they get an Engine of
their own: no loaders (`{% include %}` and `{% extends %}` find nothing), no tag libraries to
`{% load %}`, and only harmless tags (no `{% debug %}`, which would print the context, no
`{% autoescape off %}`, no `{% url %}`, no `{% csrf_token %}`). Filters are Django's defaults
without `safe`/`safeseq`, so a customer's name can never become markup in the HTML body. The
context holds plain values only (strings, numbers, dicts of them), never model instances:
`customer.project` or `customer.__class__` lead nowhere.
"""

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.template import (
    Context,
    Engine,
    Library,
    TemplateSyntaxError,
    defaultfilters,
    defaulttags,
)
from django.template.exceptions import TemplateDoesNotExist

MAX_TEMPLATE_LENGTH = 100_000

ALLOWED_TAGS = (
    "comment",
    "cycle",
    "filter",
    "firstof",
    "for",
    "if",
    "ifchanged",
    "now",
    "regroup",
    "resetcycle",
    "spaceless",
    "templatetag",
    "verbatim",
    "widthratio",
    "with",
)
BLOCKED_FILTERS = ("safe", "safeseq", "pprint")

_sandbox = Library()
_sandbox.tags = {name: defaulttags.register.tags[name] for name in ALLOWED_TAGS}
_sandbox.filters = {
    name: function
    for name, function in defaultfilters.register.filters.items()
    if name not in BLOCKED_FILTERS
}


def _engine(autoescape: bool) -> Engine:
    engine = Engine(dirs=[], app_dirs=False, loaders=[], libraries={}, autoescape=autoescape)
    # replace the default builtins (which include {% load %}, {% include %}, {% debug %})
    engine.template_builtins = [_sandbox]
    return engine


HTML_ENGINE = _engine(autoescape=True)
TEXT_ENGINE = _engine(autoescape=False)


class TemplateError(ValueError):
    """A template that does not compile or render; `field` names the message part."""

    def __init__(self, message: str, field: str = ""):
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True)
class Message:
    subject: str
    html: str
    text: str


def _compile(source: str, *, html: bool, field: str):
    if len(source) > MAX_TEMPLATE_LENGTH:
        raise TemplateError(f"At most {MAX_TEMPLATE_LENGTH:,} characters.", field)
    engine = HTML_ENGINE if html else TEXT_ENGINE
    try:
        return engine.from_string(source)
    except TemplateSyntaxError as exc:
        raise TemplateError(_syntax_message(exc), field) from exc


def _syntax_message(exc: Exception) -> str:
    message = str(exc)
    if "Invalid block tag" in message and "'" in message:
        tag = message.split("'")[1]
        line = message.split(":")[0].replace("Invalid block tag on ", "").capitalize()
        return f"{line}: {{% {tag} %}} is not available in message templates."
    if "is not a registered tag library" in message:
        return "{% load %} is not available in message templates."
    return message


class CompiledMessage:
    """The three parts of a distribution's message, compiled once for many recipients."""

    def __init__(self, *, subject: str = "", html: str = "", text: str = ""):
        self.subject = _compile(subject, html=False, field="subject")
        self.html = _compile(html, html=True, field="body_html") if html.strip() else None
        self.text = _compile(text, html=False, field="body_text")

    def render(self, context: dict) -> Message:
        try:
            subject = " ".join(self.subject.render(Context(context, autoescape=False)).split())
            html = self.html.render(Context(context)) if self.html is not None else ""
            text = self.text.render(Context(context, autoescape=False))
        except (TemplateSyntaxError, TemplateDoesNotExist) as exc:
            raise TemplateError(_syntax_message(exc)) from exc
        return Message(subject=subject[:998], html=html, text=text)


def check_templates(*, subject: str = "", html: str = "", text: str = "") -> dict[str, str]:
    """Errors by field ({} when every part compiles and renders on a sample)."""
    errors = {}
    for field, source, is_html in (
        ("subject", subject, False),
        ("body_html", html, True),
        ("body_text", text, False),
    ):
        try:
            template = _compile(source or "", html=is_html, field=field)
            template.render(Context(sample_context(), autoescape=is_html))
        except TemplateError as exc:
            errors[field] = exc.message
        except (TemplateSyntaxError, TemplateDoesNotExist) as exc:
            errors[field] = _syntax_message(exc)
    return errors


# -- the context ----------------------------------------------------------------------------


def _plain(value, depth: int = 0):
    """JSON-ish metadata as plain values (no objects reach a template)."""
    if depth > 5:
        return None
    if isinstance(value, dict):
        return {
            str(k): _plain(v, depth + 1) for k, v in value.items() if not str(k).startswith("_")
        }
    if isinstance(value, list | tuple):
        return [_plain(v, depth + 1) for v in value[:100]]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def customer_context(customer) -> dict:
    return {
        "id": customer.public_id,
        "name": customer.name,
        "email": customer.email,
        "phone": customer.phone,
        "source_id": customer.source_id or "",
        "metadata": _plain(customer.metadata or {}),
    }


def voucher_context(*, code: str, discount: str, expiration_date, qr_url: str, barcode_url: str):
    return {
        "code": code,
        "discount": discount,
        "expiration_date": expiration_date.date().isoformat()
        if isinstance(expiration_date, dt.datetime)
        else (expiration_date or ""),
        "qr_url": qr_url,
        "barcode_url": barcode_url,
    }


def sample_context() -> dict:
    return {
        "customer": {
            "id": "cust_sample",
            "name": "Sam Sample",
            "email": "sam@example.com",
            "phone": "+1 555 0100",
            "source_id": "sample",
            "metadata": {},
        },
        "voucher": voucher_context(
            code="SAMPLE-CODE",
            discount="10% off",
            expiration_date=None,
            qr_url=f"{settings.SITE_URL}/sample-qr.png",
            barcode_url=f"{settings.SITE_URL}/sample-barcode.svg",
        ),
        "campaign": {"name": "Sample campaign"},
        "unsubscribe_url": f"{settings.SITE_URL}/distributions/unsubscribe/sample/",
    }
