from django.urls import path

from . import views

app_name = "rules"

urlpatterns = [
    # fixed prefixes first: "<rule_id>/" would match them
    path("", views.rule_list, name="list"),
    path("new/", views.rule_form, name="create"),
    path("builder/preview/", views.rule_preview, name="preview"),
    path("builder/logic/", views.logic_check, name="logic"),
    path("builder/targets/", views.target_search, name="targets"),
    path("for/campaigns/<str:campaign_id>/", views.campaign_rules, name="for_campaign"),
    path("for/vouchers/<str:voucher_id>/", views.voucher_rules, name="for_voucher"),
    path("for/tiers/<str:tier_id>/", views.tier_rules, name="for_tier"),
    # one rule
    path("<str:rule_id>/", views.rule_detail, name="detail"),
    path("<str:rule_id>/edit/", views.rule_form, name="edit"),
    path("<str:rule_id>/delete/", views.rule_delete, name="delete"),
    path("<str:rule_id>/assign/", views.rule_assign, name="assign"),
    path(
        "<str:rule_id>/assignments/<str:assignment_id>/delete/",
        views.rule_unassign,
        name="unassign",
    ),
]
