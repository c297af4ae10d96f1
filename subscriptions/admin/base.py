"""What every support admin page shares: searching by a phone number typed
any way, never filtering on a secret, read-only rows the services write,
money shown as on the customer's pages, bulk actions that ask staff for
a reason on a page of their own before calling a service per row, and the
retry of stopped eSIM provisioning jobs."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence, Sized
from typing import Any, ClassVar, TypeVar, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.db.models import Model, Q, QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext, ngettext

from accounts.models import User
from accounts.phone import normalize_phone
from subscriptions.errors import CustomerError
from subscriptions.formatting import format_nok
from subscriptions.models import ProvisioningJob
from subscriptions.services.provisioning import provisioning_retry

SECRET_FIELD = "matching_id"  # noqa: S105 (a field name, not a secret)

Row = TypeVar("Row")
Done = TypeVar("Done")


# Money reads the same here as on the customer's pages.
def nok(ore: int | None) -> str:
    return "–" if ore is None else format_nok(ore)


def changelist_url(model: type[Model], **filters: str | int) -> str:
    opts = model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    return f"{url}?{urlencode(filters)}" if filters else url


def staff(request: HttpRequest) -> User:
    """The signed-in staff member (the admin lets no one else in)."""
    return cast(User, request.user)


class SupportAdmin(admin.ModelAdmin):
    """Search by phone number typed any way, and never filter on a secret."""

    # Fields holding an E.164 number: a search term that parses as a mobile
    # number (912 34 567, 0047 912 34 567, +47 91234567) also finds them.
    phone_search_fields: ClassVar[Sequence[str]] = ()

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if not self.phone_search_fields or not search_term.strip():
            return results, may_have_duplicates
        try:
            e164 = normalize_phone(search_term)
        except ValidationError:
            return results, may_have_duplicates
        by_number = Q()
        for field in self.phone_search_fields:
            by_number |= Q(**{field: e164})
        return results | queryset.filter(by_number), may_have_duplicates

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        # Django allows any local-field lookup in the URL, which would make
        # ?matching_id__startswith=… an oracle for the secret.
        if SECRET_FIELD in lookup.split("__"):
            return False
        return super().lookup_allowed(lookup, value, request)


class ReadOnlyAdmin(SupportAdmin):
    """Rows written only by services: staff look, never add, edit or delete."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class ReasonActionsAdmin(SupportAdmin):
    """Bulk actions that change rows through a service: the action first
    shows ``reason_page`` (the form asking why, the rows it will touch);
    when the form comes back filled in, ``apply_each`` runs the service per
    row."""

    def reason_page(
        self,
        request: HttpRequest,
        *,
        title: str,
        form: forms.Form,
        action: str,
        template: str = "admin/subscriptions/selected_action.html",
        **context: Any,
    ) -> TemplateResponse:
        """The page asking for the reason; ``action`` is the admin action
        the form posts back to, ``context`` what the template lists (for
        the shared page: ``rows``, ``row_template`` saying one row,
        ``applies_to`` and a ``note``)."""
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": title,
            "form": form,
            "action": action,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            **context,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, template, context)

    def apply_each(
        self, rows: Iterable[Row], apply: Callable[[Row], Done], *, refusal: Callable[[Row, CustomerError], str]
    ) -> tuple[list[Done], list[str]]:
        """Call ``apply`` for each row: (what the calls returned, why the
        service refused the others). One refusal does not stop the rest."""
        done: list[Done] = []
        refused: list[str] = []
        for row in rows:
            try:
                done.append(apply(row))
            except CustomerError as error:
                refused.append(refusal(row, error))
        return done, refused

    def report(self, request: HttpRequest, done: Sized, refused: list[str], message: str) -> None:
        """Tell the staff member what an action did (``message``, with the
        ``%(count)d`` of ``done``; nothing when it did nothing) and what the
        services refused, each with why."""
        if done:
            self.message_user(request, message % {"count": len(done)}, messages.SUCCESS)
        for refusal in refused:
            self.message_user(request, refusal, messages.WARNING)


class JobRetryAdmin(admin.ModelAdmin):
    """The "retry" action for stopped eSIM provisioning jobs, on the jobs'
    list and on the lists of the requests they serve."""

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("subscriptions.retry_provisioningjob")

    def retry_jobs(self, request: HttpRequest, rows: Iterable[tuple[str, ProvisioningJob | None]]) -> None:
        """Retry each (label, job); report the ones refused and why."""
        by = staff(request)
        retried = 0
        for label, job in rows:
            try:
                if job is None:
                    raise CustomerError(gettext("It has no eSIM provisioning job yet."))
                provisioning_retry(job=job, by=by)
                retried += 1
            except CustomerError as error:
                self.message_user(request, f"{label}: {error}", messages.WARNING)
        if retried:
            self.message_user(
                request,
                ngettext(
                    "Retrying %(count)d stopped job with new request ids.",
                    "Retrying %(count)d stopped jobs with new request ids.",
                    retried,
                )
                % {"count": retried},
                messages.SUCCESS,
            )


def requests_listed(count: int) -> str:
    """The sentence above a list of ``count`` requests an action applies to."""
    return ngettext("This applies to %(counter)s request:", "This applies to %(counter)s requests:", count) % {
        "counter": count
    }
