"""The sandbox's pages, mounted only where the app is installed: the payment
provider's under /sandbox-pay/, the pretend phone under /sandbox/esim/ and /sandbox/phone/."""

from django.urls import path

from sandbox import views

urlpatterns = [
    path("vipps/<slug:reference>/", views.sandbox_vipps, name="sandbox_vipps"),
    path("vipps-agreement/<slug:agreement_id>/", views.sandbox_vipps_agreement, name="sandbox_vipps_agreement"),
    path("vipps/<slug:reference>/replay/", views.sandbox_vipps_replay, name="sandbox_vipps_replay"),
    path("<slug:payment_id>/", views.sandbox_pay, name="sandbox_pay"),
    path("<slug:payment_id>/replay/", views.sandbox_replay, name="sandbox_replay"),
]

esim_patterns = [path("<str:iccid>/", views.sandbox_esim, name="sandbox_esim")]

phone_patterns = [path("", views.sandbox_phone, name="sandbox_phone")]
