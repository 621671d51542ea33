"""API-wide pagination and error shapes."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import IO, Any

import django_filters
from django.conf import settings
from django.core.exceptions import ValidationError as FormValidationError
from django.core.paginator import InvalidPage
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.defaults import page_not_found
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse
from rest_framework import filters, parsers
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from config.db import DATABASE_UNAVAILABLE, RETRY_AFTER_SECONDS
from config.errors import VigilError
from config.serializers import ErrorSerializer
from config.strict_json import JSONRefused, loads

logger = logging.getLogger(__name__)

UNAUTHENTICATED = OpenApiResponse(ErrorSerializer, "No or invalid credentials.")
FORBIDDEN = OpenApiResponse(ErrorSerializer, "Not allowed for this user.")
NOT_FOUND = OpenApiResponse(
    ErrorSerializer, "No such object among the caller's teams' objects."
)
CONFLICT = OpenApiResponse(
    ErrorSerializer,
    "The incident's status does not allow this (illegal transition); the body "
    "names the current status and the allowed ones.",
)
INVALID = OpenApiResponse(
    OpenApiTypes.OBJECT, "Validation failed; the body maps fields to messages."
)
COMMON = {401: UNAUTHENTICATED, 403: FORBIDDEN, 404: NOT_FOUND}


class Pagination(PageNumberPagination):
    """Pages of 50 by default; a page or page size that is not one is a 400
    naming the parameter, as for any other bad query parameter."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        return _whole_number(
            self.page_size_query_param, raw, maximum=self.max_page_size
        )

    def paginate_queryset(
        self, queryset: Any, request: Request, view: Any = None
    ) -> list[Any] | None:
        raw = request.query_params.get(self.page_query_param)
        number = 1 if raw is None else _whole_number(self.page_query_param, raw)
        paginator = self.django_paginator_class(queryset, self.get_page_size(request))
        try:
            self.page = paginator.page(number)
        except InvalidPage:
            raise ValidationError(
                {
                    self.page_query_param: [
                        f"Page {number} is past the last page ({paginator.num_pages})."
                    ]
                }
            ) from None
        self.request = request
        return list(self.page)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"]["minimum"] = 1
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"]["maximum"] = self.max_page_size
        return parameters


def _whole_number(name: str, raw: str, maximum: int | None = None) -> int:
    """Return `raw` as an integer from 1 to `maximum`, or raise a 400 for `name`."""
    upto = f" to {maximum}" if maximum else ""
    if raw.isascii() and raw.isdigit():
        number = int(raw)
        if number >= 1 and (maximum is None or number <= maximum):
            return number
    raise ValidationError({name: [f"A whole number from 1{upto}."]})


class RefuseNulCharacters:
    """A body with a NUL character anywhere is a 400: PostgreSQL stores none,
    and a lookup by such a value (a username, a slug) would fail there."""

    def parse(self, *args: Any, **kwargs: Any) -> Any:
        parsed = super().parse(*args, **kwargs)  # type: ignore[misc]
        if _has_nul(getattr(parsed, "data", parsed)):
            raise ParseError("Null characters are not allowed.")
        return parsed


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if hasattr(value, "lists"):  # a QueryDict: every value of every key
        return any(_has_nul(k) or _has_nul(v) for k, v in value.lists())
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False


class FormParser(RefuseNulCharacters, parsers.FormParser):
    pass


class MultiPartParser(RefuseNulCharacters, parsers.MultiPartParser):
    pass


class UtcIsoDateTimeField(django_filters.fields.IsoDateTimeField):
    """An ISO 8601 time, turned to UTC: PostgreSQL refuses offsets past
    ±15:59 where Python takes up to ±23:59 (`-20:14` would be a 500)."""

    def to_python(self, value: Any) -> datetime | None:
        parsed = super().to_python(value)
        if parsed is None:
            return None
        try:
            return parsed.astimezone(UTC)
        except OverflowError:
            raise FormValidationError(
                "The date and time is out of range.", code="overflow"
            ) from None


class IsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField


class SearchFilter(filters.SearchFilter):
    """DRF's search, whose refusals (a NUL character) name the parameter."""

    def get_search_terms(self, request: Request) -> list[str]:
        try:
            return list(super().get_search_terms(request))
        except ValidationError as error:
            raise ValidationError({self.search_param: error.detail}) from None


class StrictJSONParser(parsers.JSONParser):
    """DRF's JSON parser, refusing what Vigil's JSON refuses (400, not 500):
    `NaN`, infinities, NUL characters, lone surrogates, and nesting deeper
    than VIGIL_JSON_MAX_DEPTH."""

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
    if isinstance(exc, ValidationError) and isinstance(exc.detail, list):
        # A refusal that names no field: the error body is an object still.
        exc.detail = {api_settings.NON_FIELD_ERRORS_KEY: exc.detail}
    return drf_exception_handler(exc, context)


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Answer a URL that matches no route as DRF answers an id that names
    nothing, under /api/; as Django's page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return page_not_found(request, exception)


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
