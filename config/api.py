"""API-wide pagination and error shapes."""

from __future__ import annotations

from typing import Any

from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from incidents.exceptions import IncidentError


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Answer domain errors as 400/409 with a message; leave the rest to DRF."""
    if isinstance(exc, IncidentError):
        body: dict[str, Any] = {"detail": exc.message, "code": exc.code}
        body.update(exc.details)
        return Response(body, status=exc.status_code)
    return drf_exception_handler(exc, context)
