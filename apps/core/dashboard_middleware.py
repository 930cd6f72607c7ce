"""The dashboard's middleware, skipped for API requests (see `dashboard_only`).

Each name is the Django (or django-htmx, or our own) middleware of the same name; settings list
them from here in the usual order.
"""

from django.contrib.auth import middleware as auth
from django.contrib.messages import middleware as messages
from django.contrib.sessions import middleware as sessions
from django.middleware import clickjacking, common, csrf
from django_htmx import middleware as htmx

from apps.projects import middleware as projects

from . import middleware as core
from .middleware import dashboard_only

SessionMiddleware = dashboard_only(sessions.SessionMiddleware)
CommonMiddleware = dashboard_only(common.CommonMiddleware)
CsrfViewMiddleware = dashboard_only(csrf.CsrfViewMiddleware)
AuthenticationMiddleware = dashboard_only(auth.AuthenticationMiddleware)
LoginRequiredMiddleware = dashboard_only(auth.LoginRequiredMiddleware)
CurrentProjectMiddleware = dashboard_only(projects.CurrentProjectMiddleware)
MessageMiddleware = dashboard_only(messages.MessageMiddleware)
XFrameOptionsMiddleware = dashboard_only(clickjacking.XFrameOptionsMiddleware)
HtmxMiddleware = dashboard_only(htmx.HtmxMiddleware)
HtmxMessagesMiddleware = dashboard_only(core.HtmxMessagesMiddleware)
