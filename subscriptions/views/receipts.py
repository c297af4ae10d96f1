"""The customer's receipts: a list, and each one as a PDF to download again
at any time. Another customer's receipt is a 404."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.views import AuthenticatedRequest
from subscriptions import selectors
from subscriptions.receipt_pdf import receipt_pdf

RECEIPTS_PER_PAGE = 20


@login_required
@require_GET
def receipt_list(request: AuthenticatedRequest) -> HttpResponse:
    paginator = Paginator(selectors.receipts_of(user=request.user), RECEIPTS_PER_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    return render(request, "subscriptions/receipt_list.html", {"page": page})


@login_required
@require_GET
def receipt_download(request: AuthenticatedRequest, receipt_id: int) -> HttpResponse:
    receipt = selectors.receipt_get_owned(user=request.user, receipt_id=receipt_id)
    response = HttpResponse(receipt_pdf(receipt), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="receipt-{receipt.number}.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response
