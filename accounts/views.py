"""Profile and language views."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST
from django.views.i18n import set_language as django_set_language

from accounts import identity, notifications, services
from accounts.forms import IdentityDocumentForm, NotificationSettingsForm, ProfileForm
from accounts.models import NotificationKind, User


class AuthenticatedRequest(HttpRequest):
    user: User


@login_required
def profile(request: AuthenticatedRequest) -> HttpResponse:
    form = ProfileForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        services.user_update_profile(user=request.user, **{k: form.cleaned_data[k] for k in ProfileForm.Meta.fields})
        translation.activate(request.user.language)
        messages.success(request, _("Your profile has been saved."))
        return redirect("profile")
    current = notifications.notification_settings_of(user=request.user)
    context = {"form": form, "notification_form": NotificationSettingsForm(current=current)}
    return render(request, "accounts/profile.html", context)


@login_required
@require_POST
def notification_settings(request: AuthenticatedRequest) -> HttpResponse:
    """The checkboxes on the profile page: which messages, on which channel."""
    current = notifications.notification_settings_of(user=request.user)
    form = NotificationSettingsForm(request.POST, current=current)
    if form.is_valid():
        notifications.notification_settings_save(user=request.user, enabled=form.choices())
        messages.success(request, _("Your notification settings have been saved."))
    return redirect(reverse("profile") + "#notifications")


@csrf_exempt  # the signed token in the address is the proof; mail clients post without a form (RFC 8058)
@require_http_methods(["GET", "POST"])
def notification_unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """The one-click unsubscribe link of an email, without signing in: GET
    asks to confirm (a link checker must not unsubscribe anyone), POST turns
    that kind of email off. The page speaks the customer's language, as the
    email did, unless this browser chose one (the language cookie)."""
    unsubscribe = notifications.unsubscribe_read(token)
    if unsubscribe is None:
        raise Http404
    chosen = settings.LANGUAGE_COOKIE_NAME in request.COOKIES
    language = translation.get_language() if chosen or not unsubscribe.language else unsubscribe.language
    with translation.override(language):
        context = {"kind": NotificationKind(unsubscribe.kind).label}
        if request.method == "POST":
            notifications.notification_unsubscribe(unsubscribe=unsubscribe)
            response = render(request, "accounts/unsubscribed.html", context)
        else:
            response = render(request, "accounts/unsubscribe_confirm.html", context)
    response.headers["Content-Language"] = language
    return response


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Django's language switch, which also remembers the choice on the
    account of a signed-in customer."""
    response = django_set_language(request)
    if request.user.is_authenticated:
        services.user_set_language(user=request.user, language=request.POST.get("language", ""))
    return response


@login_required
@require_http_methods(["GET", "POST"])
def identity_documents(request: AuthenticatedRequest) -> HttpResponse:
    """Upload a document, and the status of those uploaded. ``?for=`` picks
    what it is for, and ``?next=`` where to go back to once it is sent, when
    a flow sends the customer here."""
    initial = {"purpose": request.GET.get("for", "")}
    form = IdentityDocumentForm(request.POST or None, request.FILES or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            identity.identity_document_upload(
                owner=request.user,
                kind=form.cleaned_data["kind"],
                purpose=form.cleaned_data["purpose"],
                file=form.cleaned_data["file"],
            )
        except identity.IdentityDocumentError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("Thank you. We will check your document and tell you by email."))
            # Back to the request or order that sent the customer here, if it is one of ours.
            back = request.GET.get("next", "")
            if url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=False):
                return redirect(back)
            return redirect("identity_documents")
    documents = identity.identity_documents_of(user=request.user)
    context = {"form": form, "documents": documents, "retention_days": settings.IDENTITY_DOCUMENT_RETENTION_DAYS}
    return render(request, "accounts/identity_documents.html", context)


@login_required
def identity_document_detail(request: AuthenticatedRequest, document_id: int) -> HttpResponse:
    """One of the customer's documents: its status, never its file."""
    document = identity.identity_document_get_owned(user=request.user, document_id=document_id)
    return render(request, "accounts/identity_document_detail.html", {"document": document})
