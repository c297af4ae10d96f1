"""The portal's URLs and the bench's bare view, for ``bench.settings``."""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.urls import path

from bench import views
from portal.urls import urlpatterns as portal_urlpatterns

if not getattr(settings, "BENCH", False):
    raise ImproperlyConfigured("bench.urls is the benchmark's URLconf: use bench.settings")

urlpatterns = [path("bench/bare/", views.bare, name="bench_bare"), *portal_urlpatterns]
