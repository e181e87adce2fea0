"""gunicorn settings for serving Manifattura in production (the click-day benchmark serves with them too).

    gunicorn -c python:manifattura.config.gunicorn manifattura.config.wsgi:application

Each setting can be changed by its environment variable (or by gunicorn's own command-line flags, which
win over this file):

- ``GUNICORN_BIND`` (``127.0.0.1:8000``), behind the city's reverse proxy;
- ``GUNICORN_WORKERS`` (one per CPU core) and ``GUNICORN_THREADS`` (8): threaded workers, because a
  request mostly waits for PostgreSQL, and submits arriving together in one process share a commit;
- ``GUNICORN_REUSE_PORT`` (``1``): every worker listens on its own socket and the kernel spreads new
  connections evenly over them. With one shared socket whichever worker wakes first accepts, and kept-alive
  connections stay where they landed: in the click-day benchmark one worker held 156 of 256 connections
  and the other 100, so the first worker's clients waited half as long again (415 against 280 ms);
- ``GUNICORN_KEEPALIVE`` (75 s, longer than a proxy's idle timeout) and ``GUNICORN_TIMEOUT`` (120 s).
"""

import gc
import os


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        raise SystemExit(f"{name} must be a whole number, not {value!r}") from None
    if number < 1:
        raise SystemExit(f"{name} must be at least 1, not {number}")
    return number


bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
worker_class = "gthread"
workers = _int("GUNICORN_WORKERS", os.cpu_count() or 1)
threads = _int("GUNICORN_THREADS", 8)
reuse_port = os.environ.get("GUNICORN_REUSE_PORT", "1").strip().lower() not in ("0", "false", "no", "off")
keepalive = _int("GUNICORN_KEEPALIVE", 75)
timeout = _int("GUNICORN_TIMEOUT", 120)
backlog = 2048


def post_worker_init(worker) -> None:
    """Once the worker has imported the project, move every object it holds to the permanent generation.

    Those objects (modules, URL patterns, templates, translations) live as long as the process, yet every
    full garbage collection walked them all again while the worker's threads waited: gen-2 pauses of up to
    200 ms in the click-day benchmark. Frozen, they are never scanned again.
    """
    gc.freeze()
