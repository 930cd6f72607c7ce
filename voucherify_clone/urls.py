from django.contrib.auth import views as auth_views
from django.urls import include, path

from apps.api.api import urls as api_urls
from apps.core.views import healthz
from apps.projects.views import invitation_accept

urlpatterns = [
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "accounts/password/",
        auth_views.PasswordChangeView.as_view(),
        name="password_change",
    ),
    path(
        "accounts/password/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("invitations/<str:token>/", invitation_accept, name="invitation_accept"),
    path("healthz", healthz, name="healthz"),
    path("jobs/", include("apps.jobs.urls")),
    path("customers/", include("apps.customers.urls")),
    path("products/", include("apps.products.urls")),
    path("orders/", include("apps.orders.urls")),
    path("segments/", include("apps.segments.urls")),
    path("campaigns/", include("apps.campaigns.urls")),
    path("rules/", include("apps.rules.urls")),
    path("redemptions/", include("apps.redemptions.urls")),
    path("imports/", include("apps.imports.urls")),
    path("exports/", include("apps.exports.urls")),
    path("settings/metadata/", include("apps.metadata.urls")),
    path("settings/webhooks/", include("apps.webhooks.urls")),
    path("distributions/", include("apps.distributions.urls")),
    path("", include("apps.projects.urls")),
    # /v1/... and /client/v1/...; after the dashboard, whose "/" the API's root must not take
    path("", api_urls()),
]
