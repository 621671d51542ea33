"""What schema fuzzing once found, each case on its own: server errors, and
answers that broke the API's own schema."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework import serializers

from escalation.serializers import policies as policy_shapes
from escalation.serializers import schedules as schedule_shapes
from incidents.filters import IncidentFilter
from incidents.models import Incident, Service
from incidents.serializers import core as core_shapes
from incidents.serializers import ingest as ingest_shapes
from incidents.serializers.core import IncidentSerializer
from notifications import serializers as notification_shapes
from notifications.filters import DeliveryFilter
from tests.conftest import api_client

SHAPES = [
    core_shapes,
    ingest_shapes,
    policy_shapes,
    schedule_shapes,
    notification_shapes,
]


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return dict(SchemaGenerator().get_schema(request=None, public=True))


def component(schema: dict[str, Any], name: str) -> dict[str, Any]:
    return dict(schema["components"]["schemas"][name]["properties"])


@pytest.mark.parametrize("control", ["escalate", "reassign", "responders"])
def test_options_on_an_escalation_control_describes_it(api, incident, control):
    response = api.options(f"/api/v1/incidents/{incident.public_id}/{control}/")

    assert response.status_code == 200
    fields = response.json()["actions"]["POST"]
    assert ("user" in fields) is (control != "escalate")


def test_a_service_named_as_another_is_refused_with_a_400(api, service):
    response = api.post("/api/v1/services/", {"name": "Website", "team": "platform"})

    assert response.status_code == 400
    assert response.json()["field"] == "slug"
    assert "'website' is taken" in response.json()["detail"]
    assert Service.objects.count() == 1


def test_a_service_given_a_taken_slug_is_refused_with_a_400(api, service):
    response = api.post(
        "/api/v1/services/", {"name": "Shop", "slug": "website", "team": "platform"}
    )

    assert response.status_code == 400
    assert response.json()["field"] == "slug"


@pytest.mark.parametrize("name", ["%", "!!!", "—"])
def test_a_name_that_makes_no_slug_is_refused_until_a_slug_is_given(api, team, name):
    refused = api.post("/api/v1/services/", {"name": name, "team": "platform"})
    assert refused.status_code == 400
    assert refused.json()["field"] == "slug"
    assert "give a slug" in refused.json()["detail"]
    assert not Service.objects.exists()

    given = {"name": name, "slug": "percent", "team": "platform"}
    assert api.post("/api/v1/services/", given).status_code == 201
    assert api.get("/api/v1/services/percent/").json()["name"] == name


def test_every_read_only_field_on_a_nullable_column_is_nullable():
    """Incident.created_by, TimelineEvent.actor, AlertEvent.incident,
    EscalationStep.by, … come back null when the row has none."""
    wrong = []
    for module in SHAPES:
        for name, shape in vars(module).items():
            if not (
                isinstance(shape, type)
                and issubclass(shape, serializers.ModelSerializer)
                and shape.__module__ == module.__name__
            ):
                continue
            for field_name, field in shape().fields.items():
                column = column_of(shape.Meta.model, field.source)
                if column is not None and column.null and not field.allow_null:
                    wrong.append(f"{name}.{field_name}")
    assert wrong == []


def column_of(model: Any, source: str) -> Any:
    try:
        column = model._meta.get_field(source.split(".")[0])
    except Exception:
        return None
    return None if column.auto_created and not column.concrete else column


@pytest.mark.parametrize(
    ("name", "field"),
    [("Incident", "created_by"), ("TimelineEvent", "actor"),
     ("AlertEvent", "incident"), ("EscalationStep", "by"),
     ("EscalationLevel", "up_to_severity"),
     ("EscalationLevel", "page_at_declaration_up_to"),
     ("EscalationTarget", "team"), ("ServicePolicy", "policy")],
)  # fmt: skip
def test_the_schema_calls_these_fields_nullable(schema, name, field):
    assert component(schema, name)[field]["nullable"] is True


def test_an_unresolved_incident_s_blank_resolution_type_is_in_the_schema(
    schema, incident
):
    body = IncidentSerializer(incident).data
    assert body["resolution_type"] == ""

    choices = component(schema, "Incident")["resolution_type"]["oneOf"]
    enums = [
        schema["components"]["schemas"][ref["$ref"].rsplit("/", 1)[-1]]["enum"]
        for ref in choices
    ]
    assert [""] in enums
    assert sorted(Incident.ResolutionType.values) in map(sorted, enums)


def test_a_nul_in_the_search_is_a_400_object_naming_it(api, incident):
    response = api.get("/api/v1/incidents/?search=X%00")

    assert response.status_code == 400
    assert response.json() == {"search": ["Null characters are not allowed."]}


@pytest.mark.parametrize("format_", ["json", "multipart"])
@pytest.mark.parametrize(
    ("action", "body"),
    [("assign-role", {"role": "incident_commander", "user": "\x00a"}),
     ("note", {"text": "ok", "kind": "no\x00te"})],
)  # fmt: skip
def test_a_nul_anywhere_in_a_body_is_a_400_not_a_database_error(
    api, incident, action, body, format_
):
    path = f"/api/v1/incidents/{incident.public_id}/{action}/"

    response = api.post(path, body, format=format_)

    assert response.status_code == 400
    assert "nul" in response.json()["detail"].lower()


def test_a_nul_in_a_nested_json_value_is_refused_too(api, incident):
    body = {"title": "x", "severity": "P2", "service": "website",
            "affected_services": ["web\x00site"]}  # fmt: skip

    assert api.post("/api/v1/incidents/", body).status_code == 400


@pytest.mark.parametrize(
    ("filterset", "name"),
    [(IncidentFilter, "detected_before"), (DeliveryFilter, "created_after")],
)
def test_a_time_filter_compares_in_utc_whatever_offset_it_was_given(filterset, name):
    # PostgreSQL refuses an offset past 15:59; Python takes up to 23:59.
    form = filterset({name: "2026-03-01T10:00:00-20:14"}).form

    assert form.is_valid(), form.errors
    assert form.cleaned_data[name] == datetime(2026, 3, 2, 6, 14, tzinfo=UTC)
    assert form.cleaned_data[name].utcoffset() == timedelta(0)


def test_a_time_filter_out_of_range_in_utc_is_a_400(api, incident):
    response = api.get("/api/v1/incidents/?detected_after=0001-01-01T00:00:00%2B10:00")

    assert response.status_code == 400
    assert "detected_after" in response.json()


@pytest.mark.parametrize(
    ("query", "name"),
    [("page=0", "page"), ("page=abc", "page"), ("page=2", "page"),
     ("page_size=0", "page_size"), ("page_size=201", "page_size"),
     ("page_size=null", "page_size"), ("page_size=-1", "page_size")],
)  # fmt: skip
def test_a_page_that_is_not_one_is_a_400_naming_the_parameter(
    api, incident, query, name
):
    response = api.get(f"/api/v1/incidents/?{query}")

    assert response.status_code == 400
    assert list(response.json()) == [name]


def test_paging_through_the_results_still_works(api, incident):
    response = api.get("/api/v1/incidents/?page=1&page_size=200")

    assert response.status_code == 200
    assert response.json()["count"] == 1


def test_a_bad_filter_value_is_a_documented_400(api, schema):
    response = api.get("/api/v1/alerts/?integration=0")

    assert response.status_code == 400
    assert "integration" in response.json()
    assert "400" in schema["paths"]["/api/v1/alerts/"]["get"]["responses"]


@pytest.mark.parametrize(
    "path",
    ["/api/v1/schedules/0.5/oncall/", "/api/v1/notification-rules/%C2%84/",
     "/api/v1/no-such-thing/"],
)  # fmt: skip
def test_an_api_path_that_fits_no_route_is_a_json_404(api, path):
    response = api.get(path)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}


def test_outside_the_api_a_404_stays_a_page(db):
    response = api_client().get("/no-such-page/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_every_operation_with_a_path_parameter_documents_its_404(schema):
    undocumented = [
        f"{method.upper()} {path}"
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if "{" in path and "404" not in operation["responses"]
    ]
    assert undocumented == []


@pytest.mark.parametrize(
    "value", [timedelta(minutes=15), timedelta(days=8, seconds=1.5), timedelta(0)]
)
def test_durations_come_back_as_the_schema_s_pattern_says(schema, value):
    pattern = component(schema, "SeverityLevel")["ack_target"]["pattern"]
    written = serializers.DurationField().to_representation(value)

    assert re.fullmatch(pattern, written), written


def test_a_duration_in_the_documented_form_is_read_back(schema):
    pattern = component(schema, "EscalationPolicyInputRequest")["ack_timeout"]
    assert re.fullmatch(pattern["pattern"], "1 02:30:00")
    field = serializers.DurationField()
    assert field.to_internal_value("1 02:30:00") == timedelta(days=1, minutes=150)
