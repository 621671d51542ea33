from django.urls import path, re_path

from incidents.consumers import IncidentConsumer, IncidentListConsumer, NotFoundConsumer

websocket_urlpatterns = [
    path("ws/incidents/", IncidentListConsumer.as_asgi()),
    path("ws/incidents/<str:public_id>/", IncidentConsumer.as_asgi()),
    # Last: an unknown path is refused, not an error of the server.
    re_path(r"", NotFoundConsumer.as_asgi()),
]
