from django.urls import path

from . import simulator_views, views

app_name = "redemptions"

urlpatterns = [
    # fixed prefixes first: "<redemption_id>/" would match them
    path("", views.redemption_list, name="list"),
    path("for/orders/<str:order_id>/", views.order_section, name="for_order"),
    path("for/customers/<str:customer_id>/", views.customer_section, name="for_customer"),
    path("for/campaigns/<str:campaign_id>/", views.campaign_section, name="for_campaign"),
    # test a cart (before "<redemption_id>/", which would match "simulator/")
    path("simulator/", simulator_views.simulator, name="simulator"),
    path("simulator/redeem/", simulator_views.simulator_redeem, name="simulator_redeem"),
    path("simulator/row/", simulator_views.simulator_row, name="simulator_row"),
    path("simulator/row/gone/", simulator_views.simulator_row_gone, name="simulator_row_gone"),
    path("simulator/customers/", simulator_views.simulator_customers, name="simulator_customers"),
    path("simulator/customer/", simulator_views.simulator_customer, name="simulator_customer"),
    path("simulator/products/", simulator_views.simulator_products, name="simulator_products"),
    # one redemption
    path("<str:redemption_id>/", views.redemption_detail, name="detail"),
    path("<str:redemption_id>/rollback/", views.redemption_rollback, name="rollback"),
]
