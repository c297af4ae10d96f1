"""Your data: download it (a ZIP announced by email, its link used once)
and delete the account. Every export is fetched only for its owner (a 404
for anyone else, and for a wrong token)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.reauthentication import reauthentication_response
from accounts.views import AuthenticatedRequest
from subscriptions.errors import CustomerError
from subscriptions.forms.customer_data import AccountDeleteForm
from subscriptions.models import DataExport
from subscriptions.services.customer_data import (
    account_delete,
    account_deletion_check,
    data_export_get_owned,
    data_export_request,
    data_export_take,
)


@login_required
@require_GET
def your_data(request: AuthenticatedRequest) -> HttpResponse:
    context = {
        "export": DataExport.objects.filter(owner=request.user).first(),
        "valid_hours": settings.DATA_EXPORT_VALID_HOURS,
        "deletion": account_deletion_check(user=request.user),
    }
    return render(request, "subscriptions/your_data.html", context)


@login_required
@require_POST
def data_export_start(request: AuthenticatedRequest) -> HttpResponse:
    try:
        data_export_request(user=request.user)
    except CustomerError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request,
            _("We are preparing your data. We will email a download link to %(email)s.")
            % {"email": request.user.email},
        )
    return redirect("your_data")


@never_cache
@login_required
@require_GET
def data_export_download(request: AuthenticatedRequest, public_id: str, token: str) -> HttpResponse:
    export = data_export_get_owned(user=request.user, public_id=public_id)
    try:
        content = data_export_take(export=export, token=token)
    except CustomerError as error:
        messages.error(request, str(error))
        return redirect("your_data")
    response = HttpResponse(content, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="nordlys-data-{export.requested_at:%Y-%m-%d}.zip"'
    return response


@login_required
@require_http_methods(["GET", "POST"])
def account_delete_confirm(request: AuthenticatedRequest) -> HttpResponse:
    """Why the account cannot be deleted yet, or the confirmation; the
    deletion after a fresh sign-in."""
    form = AccountDeleteForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        if (reauthenticate := reauthentication_response(request, user=request.user)) is not None:
            return reauthenticate
        try:
            account_delete(user=request.user)
        except CustomerError as error:
            form.add_error(None, str(error))
        else:
            logout(request)
            messages.success(request, _("Your account is deleted. Thank you for having been our customer."))
            return redirect("home")
    context = {"form": form, "deletion": account_deletion_check(user=request.user)}
    return render(request, "subscriptions/account_delete.html", context)
