"""Sign-in limits: a number of attempts per account and per network address in a window.

Each attempt is reserved *before* the password is checked, by one conditional UPDATE
(``attempts = attempts + 1 WHERE attempts < limit``, or a fresh window once the old one has
passed). SQLite runs writes one at a time and PostgreSQL re-checks the condition after the
row lock, so parallel guesses can never get more checks than the limit. A successful sign-in
clears its account's count and gives the address its attempt back, so colleagues behind one
address are not locked out by signing in.

- per account (``HEARD_LOGIN_FAILURE_LIMIT``, 5): guessing one person's password, from
  however many addresses;
- per address (``HEARD_LOGIN_ADDRESS_LIMIT``, 20): trying one password on many accounts.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Case, F, Q, Value, When
from django.http import HttpRequest
from django.utils import timezone

from heard.store.models import SignInLimit


def client_ip(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def _keys(username: str, ip: str) -> tuple[tuple[str, int], tuple[str, int]]:
    return ((f"account:{username.strip().lower()}"[:320], settings.LOGIN_FAILURE_LIMIT),
            (f"address:{ip}"[:320], settings.LOGIN_ADDRESS_LIMIT))


def _window_start() -> datetime:
    return timezone.now() - timedelta(seconds=settings.LOGIN_FAILURE_WINDOW)


def _take(key: str, limit: int) -> bool:
    """Reserve one attempt under ``key``; False when its window's attempts are used up."""
    now, since = timezone.now(), _window_start()
    if not SignInLimit.objects.filter(key=key).exists():
        try:
            with transaction.atomic():
                SignInLimit.objects.create(key=key, attempts=0, window_start=now)
        except IntegrityError:  # created by a parallel attempt: count on its row
            pass
        # Keep the table small: windows that ended a day ago serve no purpose.
        SignInLimit.objects.filter(window_start__lt=now - timedelta(days=1)).delete()
    expired = Q(window_start__lt=since)
    return SignInLimit.objects.filter(Q(key=key) & (expired | Q(attempts__lt=limit))).update(
        attempts=Case(When(expired, then=Value(1)), default=F("attempts") + 1),
        window_start=Case(When(expired, then=Value(now)), default=F("window_start")),
    ) == 1


def _give_back(key: str) -> None:
    SignInLimit.objects.filter(key=key, attempts__gt=0).update(attempts=F("attempts") - 1)


def reserve(username: str, ip: str) -> bool:
    """Count an attempt for the account and the address; False (nothing counted) when
    either has used up its attempts, and the password must then not be checked."""
    (account, account_limit), (address, address_limit) = _keys(username, ip)
    if not _take(account, account_limit):
        return False
    if not _take(address, address_limit):
        _give_back(account)
        return False
    return True


def succeeded(username: str, ip: str) -> None:
    """A correct password: the account starts afresh and the address gets its attempt back."""
    (account, _), (address, _) = _keys(username, ip)
    SignInLimit.objects.filter(key=account).delete()
    _give_back(address)


def minutes_left() -> int:
    return max(1, settings.LOGIN_FAILURE_WINDOW // 60)
