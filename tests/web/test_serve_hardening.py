"""A real `heard serve` under the trial's conditions: errors logged with a request id,
sign-in limits under parallel guessing and spraying, private files, imports as background
jobs that leave the store free for sign-in and edits, and SIGTERM while threads are busy."""

from __future__ import annotations

import io
import json
import re
import signal
import sqlite3
import stat
import subprocess
import threading
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from .live_server import Client, heard, heard_env, start_server

ADMIN = "lead@example.org"
PASSWORD = "serve-password-123"
CSV = "id,q1\nr1,Parking costs too much\nr2,More buses please\nr3,Safer cycle lanes\n"


@pytest.fixture
def home(tmp_path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def env(home):
    env = heard_env(home)
    heard(env, "user", "add", ADMIN, "--role", "admin", "--password", PASSWORD)
    return env


@pytest.fixture
def servers(tmp_path):
    started = []

    def start(env, *args: str):
        server = start_server(env, tmp_path / f"serve-{len(started)}.log", *args)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def _signed_in(url: str, email: str = ADMIN) -> Client:
    client = Client(url)
    assert client.sign_in(email, PASSWORD).status == 302
    return client


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _letters_zip(count: int) -> bytes:
    """``count`` text PDFs in one zip: their extraction takes a while, their rows are few."""
    from heard.io.documents import samples

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for i in range(count):
            text = samples.wrap(samples.letter_text(i, points=6))
            archive.writestr(f"letter-{i}.pdf", samples.text_pdf([text] * 3))
    return buffer.getvalue()


def _job(client: Client, location: str) -> dict:
    path = re.sub(r"/\?follow=1$|\?follow=1$", "", location).rstrip("/") + ".json"
    reply = client.get(path)
    assert reply.status == 200, reply.body[:300]
    return json.loads(reply.body)


def test_server_error_is_logged_with_the_request_id_shown_on_the_page(env, home, servers,
                                                                       tmp_path):
    (tmp_path / "answers.csv").write_text(CSV, encoding="utf-8")
    heard(env, "import", str(tmp_path / "answers.csv"), "--consultation", "parks")
    server = servers(env, "--no-worker")
    client = _signed_in(server.url)
    # A real fault: the store loses a table under the running server.
    with sqlite3.connect(home / "heard.sqlite3") as store:
        store.execute("DROP TABLE heard_auditevent")
    reply = client.get("/c/parks/history/")
    assert reply.status == 500
    request_id = reply.headers["X-Request-Id"]
    assert re.fullmatch(r"[0-9a-f]{12}", request_id)
    assert request_id in reply.body and "has been logged" in reply.body
    log_file = home / "logs" / "heard.log"
    for text in (log_file.read_text(encoding="utf-8"), server.output()):
        line = next(line for line in text.splitlines() if f"[request {request_id}]" in line)
        assert "ERROR django.request" in line and "/c/parks/history/" in line
        assert "Traceback (most recent call last)" in text
        assert "no such table: heard_auditevent" in text
    assert _mode(home / "logs") == 0o700 and _mode(log_file) == 0o600


def _guess(url: str, email: str, password: str, ready: threading.Barrier) -> int:
    client = Client(url)
    client.csrf()
    ready.wait()
    return client.sign_in(email, password).status


def test_parallel_guesses_get_no_more_checks_than_the_account_limit(env, servers):
    server = servers(env, "--no-worker", "--threads", "8")
    ready = threading.Barrier(40)
    with ThreadPoolExecutor(40) as pool:
        statuses = list(pool.map(lambda _: _guess(server.url, ADMIN, "wrong-guess-1", ready),
                                 range(40)))
    assert statuses.count(401) == 5  # HEARD_LOGIN_FAILURE_LIMIT: checked, wrong
    assert statuses.count(429) == 35  # refused before any password check
    assert Client(server.url).sign_in(ADMIN, PASSWORD).status == 429  # the account waits


def test_one_password_sprayed_over_many_accounts_is_limited_per_address(env, servers):
    server = servers(env, "--no-worker", "--threads", "8")
    ready = threading.Barrier(30)
    with ThreadPoolExecutor(30) as pool:
        statuses = list(pool.map(
            lambda i: _guess(server.url, f"person{i}@example.org", "Summer2025!", ready),
            range(30)))
    assert statuses.count(401) == 20  # HEARD_LOGIN_ADDRESS_LIMIT
    assert statuses.count(429) == 10
    # Every account guessed from here is refused too, even with its right password.
    assert Client(server.url).sign_in(ADMIN, PASSWORD).status == 429


def test_store_documents_uploads_and_logs_are_private(env, home, servers, tmp_path):
    (tmp_path / "answers.csv").write_text(CSV, encoding="utf-8")
    (tmp_path / "letters.zip").write_bytes(_letters_zip(2))
    heard(env, "import", str(tmp_path / "answers.csv"), "--consultation", "parks")
    heard(env, "import", str(tmp_path / "letters.zip"), "--consultation", "letters")
    server = servers(env, "--no-worker")  # the upload waits in uploads/ for a worker
    client = _signed_in(server.url)
    reply = client.post("/upload/", {"name": "more", "analyse": "0"},
                        files={"files": ("answers.csv", CSV.encode())})
    assert reply.status == 302, reply.body[:500]
    store = home / "heard.sqlite3"
    companions = [store.with_name(store.name + s) for s in ("-wal", "-shm")]
    assert all(p.exists() for p in companions)
    stored = list((home / "documents").iterdir())
    uploaded = list((home / "uploads").rglob("*"))
    assert len(stored) == 2 and uploaded
    for path in [home, home / "documents", home / "uploads", home / "logs", *uploaded]:
        if path.is_dir():
            assert _mode(path) == 0o700, path
    for path in [store, *companions, *stored, home / "logs" / "heard.log", home / "secret_key",
                 *[p for p in uploaded if p.is_file()]]:
        assert _mode(path) == 0o600, path


def test_import_runs_as_a_job_while_sign_in_and_edits_go_on(env, home, servers):
    heard(env, "user", "add", "ana@example.org", "--role", "viewer", "--password", PASSWORD)
    server = servers(env, "--threads", "4")
    admin = _signed_in(server.url)
    reply = admin.post("/upload/", {"name": "letters", "analyse": "0"},
                       files={"files": ("letters.zip", _letters_zip(400))})
    assert reply.status == 302  # queued: the request did not wait for the import
    location = reply.headers["Location"]
    assert "/c/letters/jobs/" in location
    for _ in range(600):
        job = _job(admin, location)
        if job["status"] != "pending":
            break
        time.sleep(0.2)
    assert job["status"] == "running"
    # While the documents are read: a sign-in and a write to the store both succeed.
    assert Client(server.url).sign_in("ana@example.org", PASSWORD).status == 302
    reply = admin.post("/c/letters/members/", {"email": "ana@example.org", "role": "analyst"})
    assert reply.status == 302, reply.body[:500]
    assert _job(admin, location)["status"] == "running"  # the import was still going on
    for _ in range(1200):
        job = _job(admin, location)
        if job["finished"]:
            break
        time.sleep(0.5)
    assert job["status"] == "done", job
    page = admin.get(location.split("?")[0]).body
    assert "Imported 400 answers from 400 new respondents." in page
    assert not any((home / "uploads").iterdir())  # the raw upload is not kept
    assert "database is locked" not in server.output()


def test_upload_errors_name_the_file_not_the_server_folder(env, home, servers):
    server = servers(env)
    admin = _signed_in(server.url)
    reply = admin.post("/upload/", {"name": "broken", "analyse": "0"},
                       files={"files": ("answers.csv", b"id,q1\n")})
    location = reply.headers["Location"]
    for _ in range(600):
        job = _job(admin, location)
        if job["finished"]:
            break
        time.sleep(0.2)
    assert job["status"] == "failed"
    assert "answers.csv" in job["error"]
    assert str(home) not in job["error"] and "uploads" not in job["error"]
    page = admin.get(location.split("?")[0]).body
    assert "answers.csv" in page and str(home) not in page


def test_sigterm_stops_the_server_while_request_threads_are_busy(env, home, servers):
    server = servers(env, "--threads", "2")
    clients = [Client(server.url) for _ in range(4)]
    for client in clients:
        client.csrf()
    # Hold the store's write lock: sign-ins wait for it inside every request thread.
    lock = sqlite3.connect(home / "heard.sqlite3", isolation_level=None, timeout=30)
    lock.execute("BEGIN IMMEDIATE")
    def sign_in(client: Client) -> None:
        try:
            client.sign_in(ADMIN, PASSWORD)
        except OSError:  # the server went away mid-request: what this test asks of it
            pass

    pending = [threading.Thread(target=sign_in, args=(c,), daemon=True) for c in clients]
    for thread in pending:
        thread.start()
    time.sleep(2)
    assert server.process.poll() is None
    server.process.send_signal(signal.SIGTERM)
    try:
        code = server.process.wait(timeout=25)
    except subprocess.TimeoutExpired:
        code = None
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    assert code == 0, server.output()
    assert "Heard stopped." in server.output()
