from allauth.account.decorators import secure_admin_login
from django.apps import apps
from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from portal import views
from subscriptions import urls as subscriptions_urls

# Staff sign in through allauth, so its rate limits and two-factor apply.
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]
admin.site.site_header = _("Nordlys Mobil support")
admin.site.site_title = _("Nordlys Mobil support")

urlpatterns = [
    path("", views.home, name="home"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("help/", views.help_page, name="help"),
    path("lines/", include("subscriptions.urls")),
    path("plans/", include(subscriptions_urls.plan_patterns)),
    path("orders/", include(subscriptions_urls.order_patterns)),
    path("receipts/", include(subscriptions_urls.receipt_patterns)),
    path("payments/", include(subscriptions_urls.payment_patterns)),
    path("esim/", include(subscriptions_urls.esim_patterns)),
    path("sms/", include(subscriptions_urls.sms_patterns)),
    path("replacements/", include(subscriptions_urls.replacement_patterns)),
    path("cancellations/", include(subscriptions_urls.cancellation_patterns)),
    path("sim-swap/v0/", include(subscriptions_urls.sim_swap_patterns)),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/", include("allauth.urls")),
    path("account/", include("accounts.urls")),
    path("account/data/", include(subscriptions_urls.customer_data_patterns)),
    path("admin/", admin.site.urls),
]

# The pretend third parties' pages exist only where the sandbox app is
# installed (development, tests, a staging site that asked for it): never in production.
if apps.is_installed("sandbox"):
    from sandbox import urls as sandbox_urls

    urlpatterns.append(path("sandbox-pay/", include("sandbox.urls")))
    urlpatterns.append(path("sandbox/esim/", include(sandbox_urls.esim_patterns)))
    urlpatterns.append(path("sandbox/phone/", include(sandbox_urls.phone_patterns)))
