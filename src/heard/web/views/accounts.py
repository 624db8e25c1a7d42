"""Sign in and out, with throttling of failed attempts."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.auth import authenticate, login, logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from heard.web import ratelimit
from heard.web.views.common import safe_next


class SignInForm(forms.Form):
    email = forms.CharField(label="Email address", max_length=254)
    password = forms.CharField(label="Password", strip=False, widget=forms.PasswordInput)


@require_http_methods(["GET", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated and request.method == "GET":
        return redirect("heard:home")
    form = SignInForm(request.POST or None)
    error = ""
    status = 200
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"].strip()
        ip = ratelimit.client_ip(request)
        if not ratelimit.reserve(email, ip):  # before the password is checked
            error = (
                "Too many failed attempts to sign in. Wait "
                f"{ratelimit.minutes_left()} minutes and try again."
            )
            status = 429
        else:
            user = authenticate(request, username=email, password=form.cleaned_data["password"])
            if user is None:
                error = "The email address or password is not right."
                status = 401
            else:
                ratelimit.succeeded(email, ip)
                login(request, user)
                return redirect(safe_next(request, "/"))
    elif request.method == "POST":
        error = "Enter your email address and password."
        status = 400
    return render(
        request,
        "heard/sign_in.html",
        {"form": form, "error": error, "next": request.GET.get("next", ""),
         "oidc": getattr(settings, "OIDC_ENABLED", False)},
        status=status,
    )


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("heard:sign-in")
