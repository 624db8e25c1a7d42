"""Sign-in throttling: a limited number of failures per username and address in a window."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone

from heard.store.models import LoginAttempt


def client_ip(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def _recent(username: str, ip: str):
    since = timezone.now() - timedelta(seconds=settings.LOGIN_FAILURE_WINDOW)
    return LoginAttempt.objects.filter(username=username.lower(), ip=ip, created_at__gte=since)


def is_locked(username: str, ip: str) -> bool:
    return _recent(username, ip).count() >= settings.LOGIN_FAILURE_LIMIT


def record_failure(username: str, ip: str) -> None:
    LoginAttempt.objects.create(username=username.lower()[:254], ip=ip[:64])
    # Keep the table small: failures older than a day serve no purpose.
    LoginAttempt.objects.filter(created_at__lt=timezone.now() - timedelta(days=1)).delete()


def clear(username: str, ip: str) -> None:
    LoginAttempt.objects.filter(username=username.lower(), ip=ip).delete()


def minutes_left() -> int:
    return max(1, settings.LOGIN_FAILURE_WINDOW // 60)
