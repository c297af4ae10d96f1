from django.urls import path

from subscriptions import views

urlpatterns = [
    path("<int:line_id>/", views.line_detail, name="line_detail"),
    path("<int:line_id>/low-balance-alert/", views.line_low_balance_threshold, name="line_low_balance_threshold"),
]
