"""The metrics API: read-only reports over the caller's teams' incidents.

Every endpoint takes the same filters (MetricsQuerySerializer) and answers
JSON, or CSV with `?format=csv` (the `results` rows, one line each).
"""

from __future__ import annotations

from typing import Any, cast

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer
from rest_framework.views import APIView

from config.api import INVALID, UNAUTHENTICATED, Pagination, valid_query
from config.collector import collection_deferred
from config.schema import PagedAutoSchema
from metrics import selectors
from metrics.renderers import CsvRenderer, JsonRenderer
from metrics.serializers import (
    AvailabilityRowSerializer,
    AvailabilitySerializer,
    BreachPageSerializer,
    BreachSerializer,
    KpiQuerySerializer,
    KpiRowSerializer,
    KpisSerializer,
    MetricsQuerySerializer,
    ResponseTimeRowSerializer,
    ResponseTimesQuerySerializer,
    ResponseTimesSerializer,
    SlaRowSerializer,
    SlaSerializer,
    incident_filters,
)

FORMATS = ("json", "csv")
FORMAT = OpenApiParameter(
    "format",
    str,
    enum=list(FORMATS),
    description="csv: the results rows as a CSV file.",
)


def _schema(
    summary: str, query: type[Any], answer: type[Any], description: str | None = None
) -> Any:
    return extend_schema(
        summary=summary,
        description=description,
        parameters=[query, FORMAT],
        responses={200: answer, 400: INVALID, 401: UNAUTHENTICATED},
    )


class MetricsView(APIView):
    renderer_classes: list[type[BaseRenderer]] = [
        JsonRenderer,
        *(kind for kind in APIView.renderer_classes if kind is not JSONRenderer),
        CsvRenderer,
    ]
    # Reads only: any other method is a 405, asking no model permission.
    permission_classes = [IsAuthenticated]
    query_serializer: type[MetricsQuerySerializer] = MetricsQuerySerializer
    row_serializer: type[Serializer[Any]]  # the CSV header when no row

    def perform_content_negotiation(
        self, request: Request, force: bool = False
    ) -> tuple[BaseRenderer, str]:
        if not force and request.query_params.get("format", "json") not in FORMATS:
            raise ValidationError({"format": [f"One of {', '.join(FORMATS)}."]})
        return super().perform_content_negotiation(request, force)

    def dispatch(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        # A report's many objects would set off a full collection partway.
        with collection_deferred():
            response = cast(Response, super().dispatch(request, *args, **kwargs))
            # Rendered here, then let go of by its view and renderer context,
            # which refer to the response: cycles that would keep the
            # report's rows until the collector's next full pass.
            response.render()
            del response.renderer_context, self.response  # type: ignore[attr-defined]
        return response

    def query(self, request: Request) -> tuple[dict[str, Any], dict[str, Any]]:
        """Return the validated query and the incident filters it names."""
        query = valid_query(self.query_serializer, request)
        return query, incident_filters(query)


class ResponseTimesView(MetricsView):
    row_serializer = ResponseTimeRowSerializer
    query_serializer = ResponseTimesQuerySerializer

    @_schema(
        "Time to detect, acknowledge, mitigate and resolve, and impact duration",
        ResponseTimesQuerySerializer,
        ResponseTimesSerializer,
    )
    def get(self, request: Request) -> Response:
        query, filters = self.query(request)
        results = selectors.response_time_report(
            user=request.user,
            filters=filters,
            group_by=query["group_by"],
            period=query["period"],
        )
        return Response(
            {
                "group_by": query["group_by"],
                "period": query["period"],
                "drills": query["drills"],
                "results": results,
            }
        )


class SlaView(MetricsView):
    row_serializer = SlaRowSerializer

    @_schema(
        "Compliance with the severity matrix's acknowledge and resolve targets",
        MetricsQuerySerializer,
        SlaSerializer,
    )
    def get(self, request: Request) -> Response:
        query, filters = self.query(request)
        results = selectors.sla_report(
            user=request.user, filters=filters, now=timezone.now()
        )
        return Response({"drills": query["drills"], "results": results})


class SlaBreachesView(MetricsView):
    """A page of the breaching incidents, newest first, in the shape of the
    other lists (`count`, `next`, `previous`, `results`) with `drills`;
    `?format=csv` answers every one of them, no page."""

    row_serializer = BreachSerializer
    pagination_class = Pagination
    schema = PagedAutoSchema()

    @_schema(
        "Incidents that missed their acknowledge or resolve target",
        MetricsQuerySerializer,
        BreachPageSerializer,
        "Newest first (detection time), a page at a time; `next` keeps the "
        "filters. With `format=csv`, every breaching incident the filters "
        "select, one line each, without pages.",
    )
    def get(self, request: Request) -> Response:
        query, filters = self.query(request)
        breaches = selectors.sla_breaches(
            user=request.user, filters=filters, now=timezone.now()
        )
        if request.accepted_renderer.format == CsvRenderer.format:
            return Response({"drills": query["drills"], "results": breaches})
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(breaches, request, view=self)
        response = paginator.get_paginated_response(page)
        response.data["drills"] = query["drills"]
        return response


class KpisView(MetricsView):
    row_serializer = KpiRowSerializer
    query_serializer = KpiQuerySerializer

    @_schema("Process KPIs", KpiQuerySerializer, KpisSerializer)
    def get(self, request: Request) -> Response:
        query, filters = self.query(request)
        results = selectors.kpi_report(
            user=request.user,
            filters=filters,
            now=timezone.now(),
            keys=query.get("kpi"),
        )
        return Response({"drills": query["drills"], "results": results})


class AvailabilityView(MetricsView):
    row_serializer = AvailabilityRowSerializer

    @_schema(
        "Per-service availability from incident durations (last 30 days by default)",
        MetricsQuerySerializer,
        AvailabilitySerializer,
    )
    def get(self, request: Request) -> Response:
        query, filters = self.query(request)
        results = selectors.availability_report(
            user=request.user, filters=filters, now=timezone.now()
        )
        return Response({"drills": query["drills"], "results": results})
