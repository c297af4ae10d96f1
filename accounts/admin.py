"""Support staff find customers by email, phone and name, see the texts
sent, and review identity documents."""

import os
from typing import Any, cast

from allauth.account.adapter import get_adapter
from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.timesince import timesince
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.identity import (
    IdentityDocumentError,
    identity_document_access_record,
    identity_document_approve,
    identity_document_reject,
)
from accounts.models import IdentityDocument, IdentityDocumentAccess, SentText, User
from accounts.texts import text_counts_this_hour


def staff_member(request: HttpRequest) -> User:
    """The signed-in staff member (the admin lets no one else in)."""
    return cast(User, request.user)


def client_ip(request: HttpRequest) -> str | None:
    """The staff member's address, as allauth finds it behind the trusted proxies."""
    try:
        return get_adapter(request).get_client_ip(request)
    except PermissionDenied:
        return None


class StaffUserChangeForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


class StaffUserCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "phone")


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = StaffUserChangeForm
    add_form = StaffUserCreationForm
    ordering = ["-date_joined"]
    list_display = ["__str__", "email", "phone", "language", "is_staff", "date_joined"]
    list_filter = ["is_staff", "is_active", "language", "phone_verified"]
    search_fields = ["email", "phone", "full_name"]
    readonly_fields = ["date_joined", "last_login", "welcomed_at"]
    fieldsets = [
        (None, {"fields": ["email", "phone", "phone_verified", "password"]}),
        (_("Profile"), {"fields": ["full_name", "street_address", "postal_code", "city", "language"]}),
        (_("Access"), {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        (_("Dates"), {"fields": ["date_joined", "last_login", "welcomed_at"]}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["email", "phone", "usable_password", "password1", "password2"]})
    ]

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[User], search_term: str
    ) -> tuple[QuerySet[User], bool]:
        """Also find +4791234567 when staff type 912 34 567."""
        from django.core.exceptions import ValidationError

        from accounts.phone import normalize_phone

        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        try:
            e164 = normalize_phone(search_term)
        except ValidationError:
            return queryset, may_have_duplicates
        return queryset | self.model.objects.filter(phone=e164), may_have_duplicates


@admin.register(SentText)
class SentTextAdmin(admin.ModelAdmin):
    """The texts sent on visitors' requests, read-only, with this hour's
    counts against the caps above the list: what support needs to answer
    "I got no code" (a cap was reached) and to spot a flood."""

    list_display = ["created_at", "purpose", "country", "client_address"]
    list_filter = ["purpose", "country"]
    search_fields = ["client_address", "country"]
    date_hierarchy = "created_at"
    change_list_template = "admin/accounts/senttext/change_list.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        extra_context = {**(extra_context or {}), "hourly": text_counts_this_hour()}
        return super().changelist_view(request, extra_context=extra_context)


# --- Identity documents -----------------------------------------------------------------


class IdentityDocumentReviewForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("Decision"),
        choices=[("approve", _("Approve")), ("reject", _("Reject"))],
        widget=forms.RadioSelect,
    )
    reason = forms.ChoiceField(
        label=_("Reason the customer reads (when rejecting)"),
        choices=[("", "—"), *IdentityDocument.Reason.choices],
        required=False,
    )
    note = forms.CharField(
        label=_("Note for staff"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Not shown to the customer."),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("decision") == "reject" and not cleaned.get("reason"):
            self.add_error("reason", _("Choose the reason the customer will read."))
        return cleaned


class PendingFirstFilter(admin.SimpleListFilter):
    """The queue opens on what waits for a decision."""

    title = _("status")
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[Any, Any]]:
        return [*IdentityDocument.Status.choices, ("all", _("All"))]

    def value(self) -> str:
        return super().value() or IdentityDocument.Status.PENDING

    def choices(self, changelist: Any) -> Any:
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request: HttpRequest, queryset: QuerySet[IdentityDocument]) -> QuerySet[IdentityDocument]:
        if self.value() == "all":
            return queryset
        return queryset.filter(status=self.value())


class IdentityDocumentAccessInline(admin.TabularInline):
    """Who looked at the file, for those allowed to see that."""

    model = IdentityDocumentAccess
    fields = ["viewed_at", "viewed_by", "client_address"]
    readonly_fields = ["viewed_at", "viewed_by", "client_address"]
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(IdentityDocument)
class IdentityDocumentAdmin(admin.ModelAdmin):
    """The review queue: pending documents, oldest first. Staff with the
    permission open the file (each look is logged) and approve or reject it
    on the review page; every field is written by the services only."""

    list_display = ["__str__", "owner", "purpose", "status", "uploaded_at", "waiting", "decided_by", "review_link"]
    list_filter = [PendingFirstFilter, "purpose", "kind"]
    list_select_related = ["owner", "decided_by"]
    search_fields = ["owner__email", "owner__phone", "owner__full_name"]
    ordering = ["uploaded_at"]
    fields = readonly_fields = (
        "owner",
        "kind",
        "purpose",
        "status",
        "uploaded_at",
        "content_type",
        "size",
        "file_link",
        "review_link",
        "decided_by",
        "decided_at",
        "reason",
        "staff_note",
        "file_deleted_at",
    )
    inlines = [IdentityDocumentAccessInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("waiting"))
    def waiting(self, document: IdentityDocument) -> str:
        if document.is_decided:
            return "–"
        return timesince(document.uploaded_at)

    @admin.display(description=_("file"))
    def file_link(self, document: IdentityDocument) -> str:
        if not document.file:
            return gettext("deleted after the retention period")
        url = reverse("admin:accounts_identitydocument_file", args=[document.pk])
        return format_html('<a href="{}" target="_blank" rel="noopener">{}</a>', url, gettext("Open the file"))

    @admin.display(description=_("review"))
    def review_link(self, document: IdentityDocument) -> str:
        if document.is_decided:
            return "–"
        url = reverse("admin:accounts_identitydocument_review", args=[document.pk])
        return format_html('<a href="{}">{}</a>', url, gettext("Review"))

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path("<int:document_id>/file/", wrap(self.file_view), name="accounts_identitydocument_file"),
            path("<int:document_id>/review/", wrap(self.review_view), name="accounts_identitydocument_review"),
            *super().get_urls(),
        ]

    def file_view(self, request: HttpRequest, document_id: int) -> HttpResponseBase:
        """The file, for staff with the permission, each look logged; never
        cached, shown in the browser rather than saved to its downloads."""
        if not request.user.has_perm("accounts.view_identity_document_file"):
            raise PermissionDenied
        document = get_object_or_404(IdentityDocument, pk=document_id)
        if not document.file:
            raise Http404("The file was deleted after the retention period.")
        identity_document_access_record(document=document, by=staff_member(request), client_address=client_ip(request))
        response = FileResponse(document.file.open("rb"), content_type=document.content_type)
        extension = os.path.splitext(document.file.name or "")[1]
        response["Content-Disposition"] = f'inline; filename="identity-document-{document.pk}{extension}"'
        response["Cache-Control"] = "no-store"
        response["X-Content-Type-Options"] = "nosniff"
        return response

    def review_view(self, request: HttpRequest, document_id: int) -> HttpResponse:
        """Approve, or reject with a reason; the customer is told."""
        if not request.user.has_perm("accounts.review_identity_document"):
            raise PermissionDenied
        document = get_object_or_404(IdentityDocument.objects.select_related("owner"), pk=document_id)
        form = IdentityDocumentReviewForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                if form.cleaned_data["decision"] == "approve":
                    identity_document_approve(
                        document=document, by=staff_member(request), note=form.cleaned_data["note"]
                    )
                else:
                    identity_document_reject(
                        document=document,
                        by=staff_member(request),
                        reason=form.cleaned_data["reason"],
                        note=form.cleaned_data["note"],
                    )
            except IdentityDocumentError as error:
                form.add_error(None, str(error))
            else:
                self.message_user(
                    request,
                    gettext("%(document)s of %(owner)s: %(status)s. The customer is told.")
                    % {"document": document, "owner": document.owner, "status": document.get_status_display()},
                    messages.SUCCESS,
                )
                return redirect("admin:accounts_identitydocument_changelist")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Review %(document)s") % {"document": document},
            "document": document,
            "form": form,
            "can_view_file": request.user.has_perm("accounts.view_identity_document_file"),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/accounts/identitydocument/review.html", context)


@admin.register(IdentityDocumentAccess)
class IdentityDocumentAccessAdmin(admin.ModelAdmin):
    """Every look at an identity document's file: who, when, from where."""

    list_display = ["viewed_at", "document", "viewed_by", "client_address"]
    list_select_related = ["document", "viewed_by"]
    search_fields = ["viewed_by__email", "document__owner__email"]
    date_hierarchy = "viewed_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
