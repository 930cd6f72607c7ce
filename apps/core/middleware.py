import secrets

from django.contrib.messages import get_messages
from django.template.loader import render_to_string

REQUEST_ID_HEADER = "X-Request-Id"


class RequestIdMiddleware:
    """Gives every request an id (`v-…`, as Voucherify does) that errors and logs carry."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.request_id = "v-" + secrets.token_hex(10)
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request.request_id
        return response


class HtmxMessagesMiddleware:
    """For htmx partial responses, append pending messages as an out-of-band swap of #messages,
    so a flash set by a POST shows up without a full page load."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            not getattr(request, "htmx", False)
            or response.status_code >= 300
            or "HX-Redirect" in response
            or not response.get("Content-Type", "").startswith("text/html")
            or getattr(response, "streaming", False)
        ):
            return response
        storage = get_messages(request)
        if not storage:
            return response
        html = render_to_string("_messages.html", {"messages": storage, "oob": True})
        response.write(html)
        return response
