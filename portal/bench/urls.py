"""The portal's URLs and the bench's bare view, for ``portal.settings.bench``."""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.urls import path

from portal.bench import views
from portal.urls import urlpatterns as portal_urlpatterns

if not getattr(settings, "BENCH", False):
    raise ImproperlyConfigured("portal.bench.urls is the benchmark's URLconf: use portal.settings.bench")

urlpatterns = [path("bench/bare/", views.bare, name="bench_bare"), *portal_urlpatterns]
