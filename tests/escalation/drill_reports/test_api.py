"""The drill report and trends API: JSON as the schema says, the Markdown,
and a drill nobody else may read."""

from __future__ import annotations

from escalation.drill_document import drill_document
from escalation.drill_selectors import drill_report
from tests.conftest import api_client
from tests.factories import declare
from tests.openapi import assert_described

REPORT = "/api/v1/drills/reports/{public_id}/"
TRENDS = "/api/v1/drills/trends/"


def report_url(public_id: str, suffix: str = "") -> str:
    return REPORT.format(public_id=public_id) + suffix


def test_a_drill_report_answers_its_scores_as_the_schema_describes(api, scripted_drill):
    response = api.get(report_url(scripted_drill.public_id))

    assert response.status_code == 200
    body = response.json()
    assert_described(REPORT, "get", 200, body)
    assert body["time_to_acknowledge_seconds"] == 720
    assert [r["username"] for r in body["responders"] if r["never_responded"]] == [
        "bob"
    ]
    assert body["responders"][1]["pages"][0]["status"] == "failed"
    assert [u["missed"] for u in body["cadence"]["updates"]] == [False, True]
    assert (body["outcome"], body["completed"]) == ("completed", True)
    assert body["expectations"]["acknowledge_within_seconds"] == 900


def test_the_markdown_route_answers_the_document(api, scripted_drill):
    response = api.get(report_url(scripted_drill.public_id, "markdown/"))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/markdown; charset=utf-8"
    assert response.content.decode() == drill_document(drill_report(scripted_drill))


def test_an_incident_that_is_no_drill_has_no_report(api, incident):
    for suffix in ("", "markdown/"):
        response = api.get(report_url(incident.public_id, suffix))
        assert response.status_code == 404, suffix
    assert_described(REPORT, "get", 404, response.json())


def test_another_team_gets_the_answer_of_a_drill_nobody_has(outsider, cancelled_drill):
    theirs = api_client(outsider).get(report_url(cancelled_drill.public_id))
    absent = api_client(outsider).get(report_url("INC-2000-01-01-001"))

    assert theirs.status_code == absent.status_code == 404
    assert theirs.json()["detail"].replace(cancelled_drill.public_id, "X") == (
        absent.json()["detail"].replace("INC-2000-01-01-001", "X")
    )


def test_signed_out_callers_get_401_and_writes_are_refused(api, cancelled_drill):
    url = report_url(cancelled_drill.public_id)

    assert api_client().get(url).status_code == 401
    assert api_client().get(TRENDS, {"team": "platform"}).status_code == 401
    assert api.post(url, {}).status_code == 405


def test_trends_list_a_teams_drills_oldest_first(
    api, service, responder, cancelled_drill, scripted_drill
):
    declare(service, "P1", title="Real outage", by=responder)

    response = api.get(TRENDS, {"team": "platform"})

    assert response.status_code == 200
    body = response.json()
    assert_described(TRENDS, "get", 200, body)
    assert [
        (
            row["name"],
            row["time_to_acknowledge_seconds"],
            row["never_responded"],
            row["cadence_kept"],
            row["completed"],
        )
        for row in body["results"]
    ] == [
        ("Database failure", None, ["alice", "bob"], True, False),  # none due
        ("Site down", 720.0, ["bob"], False, True),
    ]


def test_trends_of_a_team_not_yours_or_of_no_team_are_a_400(api, outsider):
    for team in ("bots", "nobody", ""):
        response = api.get(TRENDS, {"team": team})
        assert response.status_code == 400, team
        assert "team" in response.json()
    assert api.get(TRENDS).status_code == 400
