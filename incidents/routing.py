from django.urls import path

from incidents.consumers import IncidentConsumer, IncidentListConsumer

websocket_urlpatterns = [
    path("ws/incidents/", IncidentListConsumer.as_asgi()),
    path("ws/incidents/<str:public_id>/", IncidentConsumer.as_asgi()),
]
