"""Support staff find customers by email, phone and name."""

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

from accounts.models import SentText, User
from accounts.texts import text_counts_this_hour


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
