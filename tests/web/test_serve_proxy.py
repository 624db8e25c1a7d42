"""`heard serve --trusted-proxy`: behind a TLS proxy the app sees https, the public name and
the browser's address, so forms pass the origin check without extra settings."""

from __future__ import annotations

import http.cookiejar
import re
import sqlite3
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from .live_server import heard, heard_env, start_server

PUBLIC = "consult.example.org"
BROWSER_IP = "203.0.113.7"
PASSWORD = "proxy-password-123"


@pytest.fixture
def serve(tmp_path):
    """Start `heard serve` with the given extra arguments on a fresh SQLite store."""
    env = heard_env(tmp_path / "home", HEARD_ALLOWED_HOSTS=f"{PUBLIC},127.0.0.1")
    heard(env, "user", "add", "lead@example.org", "--role", "admin", "--password", PASSWORD)
    servers = []

    def start(*extra: str) -> str:
        server = start_server(env, tmp_path / f"serve-{len(servers)}.log", "--no-worker",
                              *extra)
        servers.append(server)
        return server.url

    yield start, Path(env["HEARD_HOME"])
    for server in servers:
        server.stop(timeout=10)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _sign_in_through_proxy(url: str, password: str) -> int:
    """What nginx would send: the public name, https, and the browser's address."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), _NoRedirect)
    proxy_headers = {"Host": PUBLIC, "X-Forwarded-Proto": "https",
                     "X-Forwarded-Host": PUBLIC, "X-Forwarded-For": BROWSER_IP}
    page = opener.open(urllib.request.Request(f"{url}/sign-in/", headers=proxy_headers))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.read().decode())[1]
    form = urllib.parse.urlencode({"csrfmiddlewaretoken": token, "email": "lead@example.org",
                                   "password": password, "next": "/"}).encode()
    request = urllib.request.Request(
        f"{url}/sign-in/", data=form, headers={
            **proxy_headers, "Origin": f"https://{PUBLIC}",
            "Referer": f"https://{PUBLIC}/sign-in/",
        })
    try:
        return opener.open(request).status
    except urllib.error.HTTPError as error:
        return error.code


def test_forms_work_behind_a_trusted_proxy_and_fail_without_it(serve):
    start, home = serve
    plain = start()
    assert _sign_in_through_proxy(plain, PASSWORD) == 403  # origin https vs http at the app

    trusting = start("--trusted-proxy", "127.0.0.1")
    assert _sign_in_through_proxy(trusting, PASSWORD) == 302
    assert _sign_in_through_proxy(trusting, "not-the-password") == 401
    with sqlite3.connect(home / "heard.sqlite3") as store:
        keys = [row[0] for row in store.execute(
            "SELECT key FROM heard_signinlimit WHERE attempts > 0 AND key LIKE 'address:%'")]
    assert keys == [f"address:{BROWSER_IP}"]  # the limit counts the browser, not the proxy
