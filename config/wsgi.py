"""WSGI entry point: the HTTP API and admin under gunicorn in production."""

from __future__ import annotations

import gc
import os

from django.core.wsgi import get_wsgi_application

from config.memory import keep_freed_memory

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

application = get_wsgi_application()
# What is loaded by now lives as long as the process: kept out of the
# collector's full passes, each of which would otherwise walk all of Django
# and the apps (about 60 ms) in the middle of some request.
gc.freeze()
# And the large blocks a request frees are kept for the next one.
keep_freed_memory()
