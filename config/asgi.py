"""ASGI entry point: HTTP and websockets in one process (Channels)."""

from __future__ import annotations

import logging
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

# Django must be set up before anything imports models.
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402

from config.accesslog import RedactUvicornAccess  # noqa: E402
from incidents.routing import websocket_urlpatterns  # noqa: E402

# uvicorn logs each request's URL, `?token=` keys included: not here.
logging.getLogger("uvicorn.access").addFilter(RedactUvicornAccess())

application = ProtocolTypeRouter(
    {
        # Static files (admin CSS/JS) are streamed asynchronously here;
        # WhiteNoise serves them in the WSGI processes of production.
        "http": ASGIStaticFilesHandler(django_asgi_app),
        # Session cookie auth, and only from pages served by our own hosts.
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)
