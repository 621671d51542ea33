"""The public status page's URLs, under /status/ (no login)."""

from __future__ import annotations

from django.urls import path

from notifications.statuspage import views

app_name = "statuspage"

urlpatterns = [
    path("", views.public, {"name": "page"}, name="page"),
    path("api/v2/summary.json", views.public, {"name": "summary"}, name="summary"),
    path("api/v2/status.json", views.public, {"name": "status"}, name="status"),
    path(
        "api/v2/incidents.json", views.public, {"name": "incidents"}, name="incidents"
    ),
    path(
        "api/v2/scheduled-maintenances.json",
        views.public,
        {"name": "maintenances"},
        name="maintenances",
    ),
    path("feed.atom", views.public, {"name": "atom"}, name="atom"),
    path("feed.rss", views.public, {"name": "rss"}, name="rss"),
    path("subscribe/", views.subscribe, name="subscribe"),
    path("subscribe/confirm/<str:token>/", views.confirm, name="confirm"),
    path("subscription/<str:token>/", views.manage, name="manage"),
]
