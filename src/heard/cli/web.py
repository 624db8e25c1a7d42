"""`heard serve`, `heard worker` and `heard user`: the web app, its job worker, accounts."""

from __future__ import annotations

import logging
import os
import secrets
import signal
import sys
import threading
import time

import click

from heard.cli.common import console, err_console, open_store, print_json

ROLES = ["viewer", "analyst", "lead", "admin"]


def _ensure_secret_key() -> None:
    """Keep a random signing key in HEARD_HOME unless HEARD_SECRET_KEY is set."""
    if os.environ.get("HEARD_SECRET_KEY"):
        return
    from heard.paths import create_private_file, heard_home, private_dir

    path = heard_home() / "secret_key"
    if not path.exists():
        private_dir(path.parent)
        create_private_file(path)  # 0600 before the key is written into it
        path.write_text(secrets.token_urlsafe(48), encoding="utf-8")


@click.command(name="serve", help="""Serve the analyst web app with a production WSGI server.

\b
Runs the app under waitress, with a background worker for import and analysis jobs
(use --no-worker when `heard worker` runs elsewhere). Sign in with an
account made by `heard user add`.

\b
Behind a reverse proxy (nginx with TLS), name the proxy's address with
--trusted-proxy: its X-Forwarded-For, -Proto and -Host headers are then
believed, so the app sees the browser's address, https and the public name.

\b
Examples:
  heard serve
  heard serve --host 0.0.0.0 --port 8080 --threads 8
  heard serve --trusted-proxy 127.0.0.1      # nginx on this machine
""")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@click.option("--threads", default=4, show_default=True, type=int, help="Request threads.")
@click.option("--worker/--no-worker", default=True, show_default=True,
              help="Run analysis jobs in this process.")
@click.option("--trusted-proxy", envvar="HEARD_TRUSTED_PROXY", metavar="ADDRESS",
              help="Address of the reverse proxy whose X-Forwarded-* headers are believed "
                   "(env HEARD_TRUSTED_PROXY). Without it those headers are removed.")
def serve_cmd(host: str, port: int, threads: int, worker: bool,
              trusted_proxy: str | None) -> None:
    _ensure_secret_key()
    if host not in ("127.0.0.1", "localhost", "0.0.0.0", "::"):
        hosts = os.environ.get("HEARD_ALLOWED_HOSTS", "localhost,127.0.0.1")
        os.environ["HEARD_ALLOWED_HOSTS"] = f"{hosts},{host}"
    if host in ("0.0.0.0", "::") and "HEARD_ALLOWED_HOSTS" not in os.environ:
        err_console.print("[yellow]Listening on all addresses:[/] set HEARD_ALLOWED_HOSTS to the "
                          "host names people use to reach this server.")
    open_store()
    from waitress import create_server

    from heard.logs import configure_logging
    from heard.web.wsgi import application

    log_file = configure_logging()  # after Django's own set-up, which resets its loggers

    stop = None
    if worker:
        from heard.pipeline.jobs import start_worker_thread

        _, stop = start_worker_thread()
    proxy = {}
    if trusted_proxy:
        proxy = {"trusted_proxy": trusted_proxy, "trusted_proxy_count": 1,
                 "trusted_proxy_headers": {"x-forwarded-for", "x-forwarded-proto",
                                           "x-forwarded-host"}}
    server = create_server(application, host=host, port=port, threads=threads,
                           ident="heard", clear_untrusted_proxy_headers=True, **proxy)
    shown = "localhost" if host in ("127.0.0.1", "0.0.0.0") else host
    console.print(f"Heard is running at [bold]http://{shown}:{server.effective_port}/[/] "
                  "(Ctrl+C to stop). Errors are logged to stderr and "
                  f"{log_file}.", highlight=False)

    def _on_term(*_args) -> None:
        # Requests still running get a few seconds; then the process ends regardless, so a
        # busy request thread can never keep the server alive after SIGTERM.
        threading.Thread(target=_exit_after, args=(STOP_GRACE,), daemon=True).start()
        raise KeyboardInterrupt  # leave the serving loop as Ctrl+C does; close below

    signal.signal(signal.SIGTERM, _on_term)
    try:
        server.run()  # returns when interrupted (waitress catches KeyboardInterrupt)
    except KeyboardInterrupt:
        pass
    finally:
        if stop is not None:
            stop.set()
        server.close()
    console.print("Heard stopped.")
    _exit_after(0)


#: Seconds `heard serve` waits for busy request threads after SIGTERM or Ctrl+C.
STOP_GRACE = 10.0


def _exit_after(seconds: float) -> None:
    """End the process after ``seconds``, whatever its other threads are doing."""
    if seconds:
        time.sleep(seconds)
    sys.stdout.flush()
    sys.stderr.flush()
    logging.shutdown()
    os._exit(0)


@click.command(name="worker", help="""Run queued import and analysis jobs (started in the web app).

\b
Claims pending jobs one at a time, records progress and honours
cancellation. On start it re-queues jobs whose worker stopped, so they resume.

\b
Examples:
  heard worker
  heard worker --once      # run what is queued, then exit
""")
@click.option("--once", is_flag=True, help="Exit when the queue is empty.")
@click.option("--poll", default=1.0, show_default=True, type=float,
              help="Seconds between looks at an empty queue.")
def worker_cmd(once: bool, poll: float) -> None:
    open_store()
    from heard.logs import configure_logging
    from heard.pipeline.jobs import work

    configure_logging()

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    console.print("Heard worker waiting for jobs (Ctrl+C to stop)." if not once else
                  "Running queued jobs.")
    try:
        done = work(stop, poll=poll, once=once)
    except KeyboardInterrupt:
        stop.set()
        return
    console.print(f"Ran {done} job(s).")


@click.group(name="user", help="""Manage accounts of the web app.

\b
Examples:
  heard user add ana@example.org --role analyst --consultation parking
  heard user add lead@example.org --role admin          # admin of every consultation
  heard user list
""")
def user_cmd() -> None:
    pass


@user_cmd.command(name="add", help="Create an account (or change its role) and print its "
                  "password when one is generated.")
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), required=True, help="Role to give.")
@click.option("--consultation", "-c", default=None,
              help="Consultation it applies to (default: every consultation).")
@click.option("--password", default=None,
              help="Password to set (default: keep the current one, or generate one).")
def user_add(email: str, role: str, consultation: str | None, password: str | None) -> None:
    open_store()
    from django.contrib.auth import get_user_model
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email

    from heard.cli.common import get_consultation
    from heard.store.models import Membership

    try:
        validate_email(email)
    except ValidationError:
        raise click.ClickException(f"{email!r} is not an email address.") from None
    target = get_consultation(consultation) if consultation else None
    User = get_user_model()
    user = User.objects.filter(username__iexact=email).first()
    created = user is None
    if created:
        user = User(username=email.lower(), email=email.lower())
    generated = None
    if password is None and created:
        password = generated = secrets.token_urlsafe(12)
    if password is not None:
        if len(password) < 8:
            raise click.ClickException("Choose a password of at least 8 characters.")
        user.set_password(password)
    user.save()
    Membership.objects.filter(user=user, consultation=target).delete()
    Membership.objects.create(user=user, consultation=target, role=role)
    where = f"in {target.name}" if target else "in every consultation"
    console.print(f"{'Created' if created else 'Updated'} {user.email}: {role} {where}.")
    if generated:
        console.print(f"Password: [bold]{generated}[/]", highlight=False)


@user_cmd.command(name="list", help="List accounts and their roles.")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def user_list(as_json: bool) -> None:
    open_store()
    from django.contrib.auth import get_user_model

    rows = []
    for user in get_user_model().objects.order_by("username").prefetch_related(
        "memberships__consultation"
    ):
        roles = [
            {"consultation": m.consultation.name if m.consultation else "*", "role": m.role}
            for m in user.memberships.all()
        ]
        rows.append({"email": user.email or user.username, "active": user.is_active,
                     "superuser": user.is_superuser, "roles": roles})
    if as_json:
        print_json(rows)
        return
    if not rows:
        console.print("No accounts yet. Add one with `heard user add EMAIL --role ROLE`.")
    for row in rows:
        roles = ", ".join(f"{r['role']} in {r['consultation']}" for r in row["roles"]) or "no roles"
        console.print(f"{row['email']}: {roles}{'' if row['active'] else ' (inactive)'}",
                      highlight=False)
