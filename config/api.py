"""API-wide pagination and error shapes."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from config.db import DATABASE_UNAVAILABLE, RETRY_AFTER_SECONDS
from config.errors import VigilError
from config.strict_json import JSONRefused, loads

logger = logging.getLogger(__name__)


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class StrictJSONParser(JSONParser):
    """DRF's JSON parser, refusing what Vigil's JSON refuses (400, not 500):
    `NaN`, infinities, and nesting deeper than VIGIL_JSON_MAX_DEPTH."""

    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        try:
            return loads(stream.read(), max_depth=settings.VIGIL_JSON_MAX_DEPTH)
        except JSONRefused as error:
            raise ParseError(f"JSON parse error - {error}") from None


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Answer domain errors as 400/409 with a message, an unavailable
    database as 503 with Retry-After; leave the rest to DRF."""
    if isinstance(exc, VigilError):
        body: dict[str, Any] = {"detail": exc.message, "code": exc.code}
        body.update(exc.details)
        return Response(body, status=exc.status_code)
    if isinstance(exc, DATABASE_UNAVAILABLE):
        logger.warning("database unavailable, answered 503: %s", exc)
        set_rollback()
        return Response(
            {
                "detail": "The database is unavailable; retry later.",
                "code": "unavailable",
            },
            status=503,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    return drf_exception_handler(exc, context)


def valid_input(
    serializer_class: type[Any], request: Request, **kwargs: Any
) -> dict[str, Any]:
    """Return the request body validated by `serializer_class`, or raise 400."""
    serializer = serializer_class(
        data=request.data, context={"request": request}, **kwargs
    )
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def valid_query(serializer_class: type[Any], request: Request) -> dict[str, Any]:
    """Return the query string validated by `serializer_class`, or raise 400."""
    serializer = serializer_class(
        data=request.query_params, context={"request": request}
    )
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)
