"""Who may see and do what: roles per consultation, and the decorator every view uses.

Roles, from least to most: viewer (reads), analyst (edits themes and responses), lead
(also signs off stages, sees agreement, runs analyses), admin (also manages members and
uploads). A membership without a consultation gives its role in every consultation;
Django superusers are admins everywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse

from heard.store.models import Consultation, Membership

ROLES = [r.value for r in Membership.Role]  # viewer < analyst < lead < admin
RANK = {role: i for i, role in enumerate(ROLES)}


def role_for(user, consultation: Consultation | None) -> str | None:
    """The strongest role ``user`` holds for ``consultation`` (None: no access)."""
    if not user.is_authenticated or not user.is_active:
        return None
    if user.is_superuser:
        return Membership.Role.ADMIN
    cached = getattr(user, "_heard_roles", None)
    if cached is None:
        cached = {}
        for cid, role in Membership.objects.filter(user=user).values_list(
            "consultation_id", "role"
        ):
            if RANK[role] > RANK.get(cached.get(cid), -1):
                cached[cid] = role
        user._heard_roles = cached
    options = [cached.get(None)]
    if consultation is not None:
        options.append(cached.get(consultation.pk))
    found = [r for r in options if r]
    return max(found, key=RANK.__getitem__) if found else None


def has_role(user, consultation: Consultation | None, needed: str) -> bool:
    role = role_for(user, consultation)
    return role is not None and RANK[role] >= RANK[needed]


def visible_consultations(user) -> QuerySet[Consultation]:
    """The consultations ``user`` may open."""
    if not user.is_authenticated:
        return Consultation.objects.none()
    if user.is_superuser or Membership.objects.filter(user=user, consultation=None).exists():
        return Consultation.objects.all()
    return Consultation.objects.filter(Q(memberships__user=user)).distinct()


def can_create_consultations(user) -> bool:
    """Only admins of every consultation may start a new one."""
    return has_role(user, None, Membership.Role.ADMIN)


def consultation_view(needed: str = Membership.Role.VIEWER, *, json: bool = False) -> Callable:
    """Decorate a view taking ``name``: signed in, the consultation exists and is visible
    (404 otherwise, so names do not leak), and the user holds at least ``needed``
    (403 otherwise). Sets ``request.consultation`` and ``request.role``."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(request: HttpRequest, name: str, *args, **kwargs) -> HttpResponse:
            if not request.user.is_authenticated:
                if json:
                    raise PermissionDenied
                return redirect_to_login(request.get_full_path())
            consultation = Consultation.objects.filter(name=name).first()
            role = role_for(request.user, consultation) if consultation else None
            if consultation is None or role is None:
                raise Http404("No such consultation")
            if RANK[role] < RANK[needed]:
                raise PermissionDenied(f"This needs the {needed} role.")
            request.consultation = consultation
            request.role = role
            return view(request, consultation, *args, **kwargs)

        wrapper.heard_role = needed  # read by the tests that check every view is covered
        return wrapper

    return decorate
