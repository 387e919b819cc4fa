"""Account pages: sign-up, accounts (open, reset, switch), settings (API tokens). Thin: forms check
shape, services decide, DomainError becomes a form message. POSTs answer by the pages' one protocol
(``tradeapp.core.pages``): a message and a redirect, or JSON for ``fetch``."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from accounts import selectors, services
from accounts.forms import ApiTokenForm, PaperAccountForm, ResetAccountForm, SignUpForm
from accounts.middleware import SESSION_KEY
from tradeapp.core.errors import DomainError
from tradeapp.core.forms import add_domain_error
from tradeapp.core.pages import done, failed, invalid, safe_next, wants_json


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("dashboard")
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.register_user(**form.cleaned_data)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            message = "Welcome! Your paper account has $100,000 of simulated cash."
            return done(request, message, to=reverse("dashboard"))
    if request.method == "POST" and wants_json(request):
        return invalid(form)
    return render(request, "accounts/signup.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
def account_list(request: HttpRequest) -> HttpResponse:
    form = PaperAccountForm(request.POST or None, initial={"starting_cash": services.default_starting_cash()})
    if request.method == "POST" and form.is_valid():
        try:
            account = services.open_paper_account(owner=request.user, **form.cleaned_data)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            request.session[SESSION_KEY] = str(account.pk)
            return done(request, f"Opened paper account “{account.name}”.", to=reverse("accounts:list"))
    if request.method == "POST" and wants_json(request):
        return invalid(form)
    context = {
        "accounts": selectors.accounts_of(request.user),
        "form": form,
        "reset_form": ResetAccountForm(),
    }
    return render(request, "accounts/account_list.html", context)


@login_required
@require_POST
def account_switch(request: HttpRequest, account_id: str) -> HttpResponse:
    # the header's <select> posts the chosen account as "account" (its no-JS button too)
    account = selectors.account_of(request.user, request.POST.get("account") or account_id)
    request.session[SESSION_KEY] = str(account.pk)
    # a switch is navigation, not an action that worked: an info message, and always a page to go to
    messages.info(request, f"Now trading in “{account.name}”.")
    return redirect(safe_next(request, reverse("dashboard")))


@login_required
@require_POST
def account_reset(request: HttpRequest, account_id: str) -> HttpResponse:
    account = selectors.account_of(request.user, account_id)
    back = reverse("accounts:list")
    form = ResetAccountForm(request.POST)
    if not form.is_valid():
        if wants_json(request):
            return invalid(form)
        reasons = " ".join(f"{field}: {', '.join(errors)}" for field, errors in form.errors.items())
        return failed(
            request, DomainError("invalid", f"Reset of “{account.name}” refused: {reasons}"), to=back
        )
    try:
        account = services.reset_paper_account(owner=request.user, account_id=account.pk, **form.cleaned_data)
    except DomainError as error:
        return failed(request, error, to=back)
    message = f"“{account.name}” was reset to {account.starting_cash:,.2f} {account.base_currency}."
    return done(request, message, to=back)


@login_required
@require_http_methods(["GET", "POST"])
def settings_page(request: HttpRequest) -> HttpResponse:
    form = ApiTokenForm(request.POST or None)
    new_key = None
    if request.method == "POST" and form.is_valid():
        try:
            token, new_key = services.create_api_token(owner=request.user, name=form.cleaned_data["name"])
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(
                request, f"Token “{token.name}” created. Copy the key now: it is shown only once."
            )
            form = ApiTokenForm()
    context = {"form": form, "tokens": selectors.active_tokens_of(request.user), "new_key": new_key}
    return render(request, "accounts/settings.html", context)


@login_required
@require_POST
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    token = services.revoke_api_token(owner=request.user, token_id=token_id)
    return done(request, f"Token “{token.name}” revoked.", to=reverse("accounts:settings"))
