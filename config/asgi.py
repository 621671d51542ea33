"""ASGI entry point: HTTP and websockets in one process (Channels)."""

from __future__ import annotations

import gc
import logging
import os
import warnings

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

# Django must be set up before anything imports models.
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from config.accesslog import RedactUvicornAccess  # noqa: E402
from config.memory import keep_freed_memory  # noqa: E402
from incidents.routing import websocket_urlpatterns  # noqa: E402

# WhiteNoise answers with a file read synchronously; Django then reads it in
# a thread, as its own static files handler would, and warns that it does.
# Static files are the only streamed responses here.
warnings.filterwarnings(
    "ignore",
    message="StreamingHttpResponse must consume synchronous iterators",
    category=Warning,
)

# uvicorn logs each request's URL, `?token=` keys included: not here.
logging.getLogger("uvicorn.access").addFilter(RedactUvicornAccess())

application = ProtocolTypeRouter(
    {
        # Static files (admin CSS/JS) are served by WhiteNoise's middleware
        # from STATIC_ROOT, by their fingerprinted names, as under WSGI.
        "http": django_asgi_app,
        # Session cookie auth, and only from pages served by our own hosts.
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)

# As config.wsgi: what is loaded by now stays out of the collector's full
# passes, which would otherwise walk it in the middle of a request.
gc.freeze()
# And the large blocks a request frees are kept for the next one.
keep_freed_memory()
