"""The sandbox's pages, mounted under /sandbox-pay/ only where the app is installed."""

from django.urls import path

from sandbox import views

urlpatterns = [
    path("<slug:payment_id>/", views.sandbox_pay, name="sandbox_pay"),
    path("<slug:payment_id>/replay/", views.sandbox_replay, name="sandbox_replay"),
]
