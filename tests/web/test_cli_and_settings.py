"""`heard user`, `heard serve --help`, and the optional OIDC switch."""

from __future__ import annotations

import os
import subprocess
import sys

from click.testing import CliRunner

from heard.cli import main


def test_user_add_and_list(db, own):
    runner = CliRunner()
    result = runner.invoke(main, ["user", "add", "Ana@Example.org", "--role", "analyst",
                                  "--consultation", "own"])
    assert result.exit_code == 0, result.output
    assert "Password:" in result.output
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.get(username="ana@example.org")
    assert user.memberships.get().role == "analyst"
    result = runner.invoke(main, ["user", "add", "ana@example.org", "--role", "lead",
                                  "--consultation", "own", "--password", "longenough1"])
    assert result.exit_code == 0 and "Updated" in result.output
    user.refresh_from_db()
    assert user.check_password("longenough1") and user.memberships.get().role == "lead"
    listed = runner.invoke(main, ["user", "list"])
    assert "ana@example.org: lead in own" in listed.output
    bad = runner.invoke(main, ["user", "add", "x@example.org", "--role", "viewer",
                               "--consultation", "nope"])
    assert bad.exit_code != 0 and "No consultation called 'nope'" in bad.output


def test_commands_are_listed():
    result = CliRunner().invoke(main, ["--help"])
    for name in ("serve", "user", "worker"):
        assert name in result.output


def _settings_in_subprocess(env: dict) -> str:
    code = ("import heard.settings as s; print(s.OIDC_ENABLED, 'mozilla_django_oidc' in "
            "s.INSTALLED_APPS, s.SESSION_COOKIE_SECURE, len(s.AUTHENTICATION_BACKENDS))")
    full = {k: v for k, v in os.environ.items() if not k.startswith("HEARD_OIDC_")}
    full.update(env)
    return subprocess.run([sys.executable, "-c", code], env=full, capture_output=True,
                          text=True, check=True).stdout.split()


def test_oidc_and_https_switch_on_from_settings():
    assert _settings_in_subprocess({}) == ["False", "False", "False", "1"]
    names = ["CLIENT_ID", "CLIENT_SECRET", "AUTHORIZATION_ENDPOINT", "TOKEN_ENDPOINT",
             "USER_ENDPOINT", "JWKS_ENDPOINT"]
    env = {f"HEARD_OIDC_{n}": "https://id.example/x" for n in names}
    env["HEARD_HTTPS"] = "1"
    assert _settings_in_subprocess(env) == ["True", "True", "True", "2"]
