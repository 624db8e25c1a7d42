"""Optional OpenID Connect sign-in (enabled by the HEARD_OIDC_* settings).

People sign in with their organisation's identity provider; the account is matched by
email address, so roles still come from `heard user add`.
"""

from __future__ import annotations

from mozilla_django_oidc.auth import OIDCAuthenticationBackend


class HeardOIDCBackend(OIDCAuthenticationBackend):
    def filter_users_by_claims(self, claims):
        email = (claims.get("email") or "").strip()
        if not email:
            return self.UserModel.objects.none()
        return self.UserModel.objects.filter(email__iexact=email, is_active=True)

    def create_user(self, claims):
        user = super().create_user(claims)
        user.username = claims.get("email", user.username)
        user.save(update_fields=["username"])
        return user
