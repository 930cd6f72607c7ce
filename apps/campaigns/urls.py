from django.urls import path

from .views import campaigns, catalog, promotions, vouchers

app_name = "campaigns"

urlpatterns = [
    # fixed prefixes first: "<campaign_id>/" would match them
    path("", campaigns.campaign_list, name="list"),
    path("new/", campaigns.campaign_wizard, name="create"),
    path("new/code-preview/", campaigns.code_preview, name="code_preview"),
    path("vouchers/new/", vouchers.voucher_create, name="voucher_create"),
    path("vouchers/<str:voucher_id>/", vouchers.voucher_detail, name="voucher_detail"),
    path("vouchers/<str:voucher_id>/edit/", vouchers.voucher_edit, name="voucher_edit"),
    path("vouchers/<str:voucher_id>/toggle/", vouchers.voucher_toggle, name="voucher_toggle"),
    path("vouchers/<str:voucher_id>/delete/", vouchers.voucher_delete, name="voucher_delete"),
    path("vouchers/<str:voucher_id>/adjust/", vouchers.voucher_adjust, name="voucher_adjust"),
    path("vouchers/<str:voucher_id>/publish/", vouchers.voucher_publish, name="voucher_publish"),
    path("vouchers/<str:voucher_id>/qr.<str:fmt>", vouchers.voucher_qr, name="voucher_qr"),
    path(
        "vouchers/<str:voucher_id>/barcode.<str:fmt>",
        vouchers.voucher_barcode,
        name="voucher_barcode",
    ),
    path("publications/", vouchers.publication_list, name="publications"),
    path("tiers/<str:tier_id>/edit/", promotions.tier_edit, name="tier_edit"),
    path("tiers/<str:tier_id>/toggle/", promotions.tier_toggle, name="tier_toggle"),
    path("tiers/<str:tier_id>/delete/", promotions.tier_delete, name="tier_delete"),
    path("stacks/<str:stack_id>/edit/", promotions.stack_edit, name="stack_edit"),
    path("stacks/<str:stack_id>/delete/", promotions.stack_delete, name="stack_delete"),
    path("categories/", catalog.category_list, name="categories"),
    path("categories/<str:category_id>/edit/", catalog.category_edit, name="category_edit"),
    path("categories/<str:category_id>/delete/", catalog.category_delete, name="category_delete"),
    path("templates/", catalog.template_list, name="templates"),
    path("templates/<str:template_id>/use/", catalog.template_use, name="template_use"),
    path("templates/<str:template_id>/delete/", catalog.template_delete, name="template_delete"),
    # one campaign
    path("<str:campaign_id>/", campaigns.campaign_detail, name="detail"),
    path("<str:campaign_id>/edit/", campaigns.campaign_edit, name="edit"),
    path("<str:campaign_id>/delete/", campaigns.campaign_delete, name="delete"),
    path("<str:campaign_id>/toggle/", campaigns.campaign_toggle, name="toggle"),
    path("<str:campaign_id>/add-codes/", campaigns.campaign_add_codes, name="add_codes"),
    path("<str:campaign_id>/export-codes/", campaigns.campaign_export_codes, name="export_codes"),
    path("<str:campaign_id>/vouchers/", campaigns.campaign_vouchers, name="vouchers"),
    path("<str:campaign_id>/publish/", vouchers.campaign_publish, name="publish"),
    path("<str:campaign_id>/tiers/new/", promotions.tier_create, name="tier_create"),
    path("<str:campaign_id>/tiers/reorder/", promotions.tiers_reorder, name="tiers_reorder"),
    path("<str:campaign_id>/stacks/new/", promotions.stack_create, name="stack_create"),
    path("<str:campaign_id>/save-template/", catalog.template_save, name="template_save"),
]
