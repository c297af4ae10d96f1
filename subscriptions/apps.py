from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SubscriptionsConfig(AppConfig):
    name = "subscriptions"
    verbose_name = _("Lines and subscriptions")

    def ready(self) -> None:
        # The system checks register themselves on import; the receivers are connected here.
        from subscriptions import checks, receivers  # noqa: F401

        receivers.connect()
