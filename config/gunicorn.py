"""gunicorn's settings for the HTTP API, admin and ingest endpoints.

    gunicorn -c python:config.gunicorn config.wsgi:application --workers 3

Sync workers: each serves one request at a time and closes the connection
after it, so a busy worker never holds connections another could serve.
Threaded workers (`gthread`) keep connections open between requests, but a
connection stays with the worker that accepted it; in `bench.ingest` they
were slower with 8 connections and had a long tail with 16 or 32
(docs/benchmarks.md).
Anything here can be overridden on the command line or in
GUNICORN_CMD_ARGS; the number of workers comes from `--workers` or
WEB_CONCURRENCY.
"""

from __future__ import annotations

from typing import Any

from gunicorn import glogging

from config.accesslog import redact, redact_path, redact_query

worker_class = "sync"
# Request headers an access log format must not print.
SECRET_HEADERS = ("authorization", "cookie")


class Logger(glogging.Logger):
    """gunicorn's logger, with secrets kept out of access log lines."""

    def atoms(self, resp: Any, req: Any, environ: dict, request_time: Any) -> dict:
        environ = {
            **environ,
            "RAW_URI": redact(environ.get("RAW_URI", "")),
            "PATH_INFO": redact_path(environ.get("PATH_INFO", "")),
            "QUERY_STRING": redact_query(environ.get("QUERY_STRING", "")),
        }
        for name in SECRET_HEADERS:  # for a format that would ask for them
            environ.pop(f"HTTP_{name.upper()}", None)
        atoms: dict = super().atoms(resp, req, environ, request_time)
        for name in SECRET_HEADERS:
            atoms.pop(f"{{{name}}}i", None)
        return atoms


logger_class = Logger
