"""Vigil's URLs plus the baseline view, served by one gunicorn."""

from __future__ import annotations

from django.urls import path

from bench.baseline import baseline_constant, baseline_enqueue
from config.urls import urlpatterns as vigil_urlpatterns

urlpatterns = [
    *vigil_urlpatterns,
    path("baseline/", baseline_enqueue),
    path("baseline/constant/", baseline_constant),
]
