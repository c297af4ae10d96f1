"""Suspend and resume a line (停机 / 复机), by its customer, after a fresh
sign-in. The line is fetched only if the signed-in customer holds it (a 404
for anyone else, before the sign-in is asked for)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.reauthentication import reauthentication_response
from accounts.views import AuthenticatedRequest
from subscriptions import selectors
from subscriptions.errors import CustomerError
from subscriptions.forms.suspensions import SuspendForm
from subscriptions.models import LineStatus
from subscriptions.selectors.suspensions import line_suspension
from subscriptions.services.suspensions import line_suspension_end, line_suspension_start


@login_required
@require_http_methods(["GET", "POST"])
def line_suspend(request: AuthenticatedRequest, line_id: int) -> HttpResponse:
    """What suspending means, the reason, and (after signing in again) the suspension."""
    line = selectors.line_get_owned(user=request.user, line_id=line_id)
    form = SuspendForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        if (reauthenticate := reauthentication_response(request, user=request.user)) is not None:
            return reauthenticate
        try:
            line_suspension_start(line=line, by=request.user, reason=form.cleaned_data["reason"])
        except CustomerError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("Your line is suspended. Resume it here when you want it back."))
            return redirect("line_detail", line.pk)
    context = {"line": line, "form": form, "suspension": line_suspension(line=line)}
    return render(request, "subscriptions/line_suspend.html", context)


@login_required
@require_POST
def line_resume(request: AuthenticatedRequest, line_id: int) -> HttpResponse:
    line = selectors.line_get_owned(user=request.user, line_id=line_id)
    if (reauthenticate := reauthentication_response(request, user=request.user)) is not None:
        return reauthenticate
    try:
        line = line_suspension_end(line=line, by=request.user)
    except CustomerError as error:
        messages.error(request, str(error))
    else:
        if line.status == LineStatus.ACTIVE:
            messages.success(request, _("Your line is working again."))
        else:
            messages.warning(
                request, _("The suspension is over, but the paid period ran out meanwhile: renew to use the line.")
            )
    return redirect("line_detail", line.pk)
