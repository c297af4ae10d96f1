"""Outside callers of the SIM Swap API (banks checking a number before they
trust a code sent to it): one row per client, its bearer token stored only
as a SHA-256 hash."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class SimSwapClient(models.Model):
    name = models.CharField(_("name"), max_length=100)
    token_hash = models.CharField(_("token hash"), max_length=64, unique=True, editable=False)
    # The token's first characters, so support can tell tokens apart.
    token_prefix = models.CharField(_("token starts with"), max_length=8, editable=False)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)

    class Meta:
        verbose_name = _("SIM swap API client")
        verbose_name_plural = _("SIM swap API clients")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
