"""Where `heard serve` and `heard worker` write what went wrong: stderr and a rotating file.

Each error of a request is logged with its traceback and the request id that the 500 page
shows, so a person can quote the id and the log line can be found. The file is
``HEARD_HOME/logs/heard.log`` (rotated at 10 MB, five old files kept), readable by this
account only.
"""

from __future__ import annotations

import logging
import logging.config
import logging.handlers
from pathlib import Path

from heard.paths import create_private_file, heard_home, private_dir

LOG_FILE = "heard.log"
MAX_BYTES = 10 * 1024 * 1024
BACKUPS = 5
FORMAT = "%(asctime)s %(levelname)s %(name)s [request %(request_id)s] %(message)s"


class RequestIdFilter(logging.Filter):
    """Put the request id (or "-") on every record, for the line format."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            request = getattr(record, "request", None)
            record.request_id = getattr(request, "heard_request_id", None) or "-"
        return True


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A rotating log whose files (the current one and each new one) are mode 0600."""

    def _open(self):
        create_private_file(Path(self.baseFilename))
        return super()._open()


def log_folder(home: Path | None = None) -> Path:
    return (home or heard_home()) / "logs"


def configure_logging(home: Path | None = None) -> Path:
    """Send errors of requests and jobs to stderr and the log file; returns the file's path."""
    path = private_dir(log_folder(home)) / LOG_FILE
    handlers = {
        "stderr": {"class": "logging.StreamHandler", "formatter": "line",
                   "filters": ["request_id"]},
        "file": {"()": PrivateRotatingFileHandler, "filename": str(path),
                 "maxBytes": MAX_BYTES, "backupCount": BACKUPS, "encoding": "utf-8",
                 "formatter": "line", "filters": ["request_id"]},
    }
    logger = {"handlers": ["stderr", "file"], "propagate": False}
    logging.config.dictConfig({
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": RequestIdFilter}},
        "formatters": {"line": {"format": FORMAT}},
        "handlers": handlers,
        "loggers": {
            # 5xx with their tracebacks (4xx are ordinary answers, not errors of the server)
            "django.request": {**logger, "level": "ERROR"},
            "heard": {**logger, "level": "INFO"},
            "waitress": {**logger, "level": "WARNING"},
        },
    })
    return path
