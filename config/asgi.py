"""ASGI entry point: HTTP and websockets in one process (Channels)."""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

# Django must be set up before anything imports models.
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402

# Static files (admin CSS/JS) are streamed asynchronously here; WhiteNoise
# serves them in the WSGI process, which is what production puts in front.
application = ProtocolTypeRouter({"http": ASGIStaticFilesHandler(django_asgi_app)})
