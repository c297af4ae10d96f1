"""eSIM profiles, received from the SIM vendor in inventory batches."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from subscriptions.models.lines import Line


class EsimState(models.TextChoices):
    AVAILABLE = "available", _("Available")
    # Taken from stock for a line and being prepared at the SM-DP+: not yet
    # shown to the customer (subscriptions.services.provisioning).
    RESERVED = "reserved", _("Being prepared")
    ASSIGNED = "assigned", _("Assigned")
    INSTALLED = "installed", _("Installed")
    RELEASED = "released", _("Released")
    DISABLED = "disabled", _("Disabled")


class InventoryBatch(models.Model):
    """One vendor file as uploaded. The file's SHA-256 is unique, so the same
    file uploaded twice is recognised; profiles are unique by ICCID too."""

    filename = models.CharField(_("file name"), max_length=200)
    sha256 = models.CharField(_("SHA-256"), max_length=64, unique=True)
    profile_count = models.PositiveIntegerField(_("profiles added"), default=0)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("uploaded"), default=timezone.now)

    # Not a column: set by subscriptions.services.inventory on the batch it
    # returns, the profiles of the file that were already in stock.
    profiles_skipped: int = 0

    class Meta:
        verbose_name = _("eSIM inventory batch")
        verbose_name_plural = _("eSIM inventory batches")
        ordering = ["-uploaded_at"]

    def __str__(self) -> str:
        return f"{self.filename} ({self.profile_count})"


class EsimProfile(models.Model):
    """A downloadable eSIM profile. ``matching_id`` is the secret half of the
    activation code: it is never logged and never shown in admin lists."""

    iccid = models.CharField(_("ICCID"), max_length=20, unique=True)
    imsi = models.CharField(_("IMSI"), max_length=15)
    smdp_address = models.CharField(_("SM-DP+ address"), max_length=255)
    matching_id = models.CharField(_("matching ID"), max_length=255)
    confirmation_code_required = models.BooleanField(_("confirmation code required"), default=False)
    state = models.CharField(_("state"), max_length=12, choices=EsimState.choices, default=EsimState.AVAILABLE)
    line = models.ForeignKey(
        Line, on_delete=models.PROTECT, null=True, blank=True, related_name="esim_profiles", verbose_name=_("line")
    )
    batch = models.ForeignKey(InventoryBatch, on_delete=models.PROTECT, related_name="profiles")
    assigned_at = models.DateTimeField(_("assigned"), null=True, blank=True)
    # Set with every change of ``state``: "installed since", "disabled since".
    state_changed_at = models.DateTimeField(_("state since"), default=timezone.now)

    class Meta:
        verbose_name = _("eSIM profile")
        verbose_name_plural = _("eSIM profiles")
        ordering = ["iccid"]
        indexes = [models.Index(fields=["state", "iccid"])]

    def __str__(self) -> str:
        return self.iccid

    def __repr__(self) -> str:  # never the matching ID
        return f"<EsimProfile {self.iccid} {self.state}>"


class EsimCodeChannel(models.TextChoices):
    """How an activation code left us: each is one audit row."""

    PAGE = "page", _("install page")
    QR_PNG = "qr_png", _("QR code image (PNG)")
    QR_SVG = "qr_svg", _("QR code for print (SVG)")
    EMAIL = "email", _("emailed at the customer's request")


class EsimCodeView(models.Model):
    """One showing of a profile's activation code to its owner: who, when,
    from which address and browser, and how (page, image, email). Written by
    subscriptions.services.esim in the request that shows the code; never
    holds the code itself."""

    profile = models.ForeignKey(
        EsimProfile, on_delete=models.PROTECT, related_name="code_views", verbose_name=_("eSIM profile")
    )
    line = models.ForeignKey(Line, on_delete=models.PROTECT, related_name="+", verbose_name=_("line"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+", verbose_name=_("by")
    )
    channel = models.CharField(_("how"), max_length=10, choices=EsimCodeChannel.choices)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("browser"), max_length=300, blank=True)
    viewed_at = models.DateTimeField(_("when"), default=timezone.now)

    class Meta:
        verbose_name = _("eSIM code showing")
        verbose_name_plural = _("eSIM code showings")
        ordering = ["-viewed_at", "-id"]
        indexes = [models.Index(fields=["profile", "viewed_at"])]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} {self.viewed_at:%Y-%m-%d %H:%M}"


class EsimConfirmationCode(models.Model):
    """The confirmation code of a profile that needs one, made when its
    profile is confirmed at the SM-DP+ (which keeps the code and asks the
    phone's user for it) and emailed to the line's owner once.

    The code is derived from ``seed`` with the site's secret key, so a
    worker that dies between ConfirmOrder and the email makes the same code
    again. ``seed`` is cleared in the transaction that emails the code: from
    then on only the keyed hash is kept (to check a code read out to
    support, and to know it was sent)."""

    profile = models.OneToOneField(
        EsimProfile, on_delete=models.PROTECT, related_name="confirmation_code", verbose_name=_("eSIM profile")
    )
    code_hash = models.CharField(_("code (keyed hash)"), max_length=64)
    seed = models.CharField(max_length=64, blank=True, editable=False)
    sent_to = models.EmailField(_("sent to"), blank=True)
    issued_at = models.DateTimeField(_("issued"), default=timezone.now)
    sent_at = models.DateTimeField(_("emailed"), null=True, blank=True)

    class Meta:
        verbose_name = _("eSIM confirmation code")
        verbose_name_plural = _("eSIM confirmation codes")

    def __str__(self) -> str:
        return f"{self.profile_id} {self.issued_at:%Y-%m-%d %H:%M}"


class StockLevel(EsimProfile):
    """No table of its own: the admin's stock page (eSIM profiles and free
    numbers against their low-stock settings) hangs on it, so it is listed
    on the admin index and guarded by its own view permission."""

    class Meta:
        proxy = True
        default_permissions = ("view",)
        verbose_name = _("stock level")
        verbose_name_plural = _("stock levels")
