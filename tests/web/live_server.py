"""A real `heard serve` in its own process, and a small cookie-keeping HTTP client for it."""

from __future__ import annotations

import http.cookiejar
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

HEARD = [sys.executable, "-m", "heard"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def heard_env(home: Path, **extra: str) -> dict[str, str]:
    env = {**os.environ, "HEARD_HOME": str(home), **extra}
    for name in ("DATABASE_URL", "HEARD_CSRF_TRUSTED_ORIGINS", "HEARD_TRUSTED_PROXY"):
        env.pop(name, None)
    return env


def heard(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*HEARD, *args], env=env, check=True, capture_output=True, text=True)


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    log: Path

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def stop(self, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def start_server(env: dict[str, str], log: Path, *args: str) -> Server:
    """`heard serve` on a free port; returns once it answers."""
    port = free_port()
    handle = open(log, "w")
    process = subprocess.Popen([*HEARD, "serve", "--port", str(port), *args], env=env,
                               stdout=handle, stderr=subprocess.STDOUT)
    handle.close()
    url = f"http://127.0.0.1:{port}"
    for _ in range(240):
        try:
            urllib.request.urlopen(f"{url}/sign-in/", timeout=2)
            return Server(url, process, log)
        except urllib.error.HTTPError:
            return Server(url, process, log)
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(log.read_text()) from None
            time.sleep(0.5)
    process.kill()
    raise RuntimeError("heard serve did not start")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: str


class Client:
    """Keeps cookies, sends the CSRF token with every POST, never follows redirects."""

    def __init__(self, url: str, timeout: float = 60) -> None:
        self.url, self.timeout = url, timeout
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect)

    def _open(self, request: urllib.request.Request) -> Reply:
        try:
            with self.opener.open(request, timeout=self.timeout) as reply:
                return Reply(reply.status, dict(reply.headers),
                             reply.read().decode("utf-8", "replace"))
        except urllib.error.HTTPError as error:
            return Reply(error.code, dict(error.headers), error.read().decode("utf-8", "replace"))

    def get(self, path: str) -> Reply:
        return self._open(urllib.request.Request(self.url + path))

    def csrf(self) -> str:
        if not any(c.name == "csrftoken" for c in self.jar):
            self.get("/sign-in/")
        return next(c.value for c in self.jar if c.name == "csrftoken")

    def post(self, path: str, fields: dict[str, str],
             files: dict[str, tuple[str, bytes]] | None = None) -> Reply:
        fields = {"csrfmiddlewaretoken": self.csrf(), **fields}
        if files:
            boundary = uuid.uuid4().hex
            parts = []
            for name, value in fields.items():
                parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"'
                             f"\r\n\r\n{value}\r\n".encode())
            for name, (filename, data) in files.items():
                parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                             f'filename="{filename}"\r\nContent-Type: application/octet-stream'
                             "\r\n\r\n".encode() + data + b"\r\n")
            body = b"".join(parts) + f"--{boundary}--\r\n".encode()
            kind = f"multipart/form-data; boundary={boundary}"
        else:
            body = urllib.parse.urlencode(fields).encode()
            kind = "application/x-www-form-urlencoded"
        return self._open(urllib.request.Request(self.url + path, data=body,
                                                 headers={"Content-Type": kind}))

    def sign_in(self, email: str, password: str) -> Reply:
        return self.post("/sign-in/", {"email": email, "password": password})
