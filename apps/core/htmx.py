from django.shortcuts import render


def render_page_or_partial(request, template_name: str, context: dict, *, partial: str, **kwargs):
    """One URL, two renderings: the full page, or for htmx requests `template#partial` only."""
    name = f"{template_name}#{partial}" if getattr(request, "htmx", False) else template_name
    return render(request, name, context, **kwargs)
