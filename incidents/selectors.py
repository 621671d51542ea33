"""Reads of the incident core, scoped to what a user may see."""

from __future__ import annotations

from typing import TypeVar

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.contrib.auth.models import User as Account
from django.db.models import (
    BooleanField,
    Exists,
    ExpressionWrapper,
    Model,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Value,
)

from incidents.models import (
    Alert,
    AlertEvent,
    ChangeEvent,
    CustodyTransfer,
    EvidenceRecord,
    Incident,
    Integration,
    MaintenanceWindow,
    Service,
    SeverityLevel,
    Team,
    TeamMembership,
    TimelineEvent,
)

User = AbstractBaseUser | AnonymousUser
M = TypeVar("M", bound=Model)


def _sees_everything(user: User) -> bool:
    return bool(getattr(user, "is_superuser", False))


def _scoped(queryset: QuerySet[M], user: User, team_path: str) -> QuerySet[M]:
    """Keep the rows whose team (at `team_path`) has `user` as a member."""
    if _sees_everything(user):
        return queryset
    if not user.is_authenticated:
        return queryset.none()
    return queryset.filter(**{f"{team_path}memberships__user": user})


def team_list(*, user: User) -> QuerySet[Team]:
    """Return the teams `user` belongs to (every team for a superuser)."""
    return _scoped(Team.objects.all(), user, "")


def teammate_list(*, user: User) -> QuerySet[Account]:
    """Return the active members of `user`'s teams (every active user for a
    superuser): whom `user` may name as a target, a role or a page."""
    users = Account.objects.filter(is_active=True).order_by("username")
    if _sees_everything(user):
        return users
    return users.filter(memberships__team__in=team_list(user=user)).distinct()


def service_list(*, user: User) -> QuerySet[Service]:
    """Return the services of `user`'s teams."""
    return _scoped(Service.objects.select_related("team"), user, "team__")


def incident_existence_list(*, user: User) -> QuerySet[Incident]:
    """Return every incident of `user`'s teams' services, newest first,
    restricted ones included: whose details `user` may not see shows only
    what `incident_details_visible` allows (id, severity, status)."""
    incidents = Incident.objects.select_related(
        "severity", "service", "service__team", "created_by"
    ).prefetch_related("role_assignments__user", "affected_services")
    return _scoped(incidents, user, "service__team__")


def details_visible_q(user: User, path: str = "") -> Q:
    """Return the condition that `user` may see the details of the incident at
    `path` (empty: the row is the incident): it is not restricted, or `user`
    is a named responder, a lead or manager of its team, or a superuser."""
    if _sees_everything(user):
        return Q()
    named = Incident.named_responders.through.objects.filter(
        incident_id=OuterRef(f"{path}pk"), user_id=user.pk or 0
    )
    leads = TeamMembership.objects.filter(
        team_id=OuterRef(f"{path}service__team_id"),
        user_id=user.pk or 0,
        role__in=[TeamMembership.Role.LEAD, TeamMembership.Role.MANAGER],
    )
    return Q(**{f"{path}restricted": False}) | Q(Exists(named)) | Q(Exists(leads))


def incident_list(*, user: User) -> QuerySet[Incident]:
    """Return the incidents of `user`'s teams' services whose details `user`
    may see, newest first: every read or action on an incident starts here."""
    return incident_existence_list(user=user).filter(details_visible_q(user))


def incident_board_list(*, user: User) -> QuerySet[Incident]:
    """Return every incident of `user`'s teams, each annotated with
    `details_visible`: what the incident list and detail show."""
    condition = details_visible_q(user)
    visible = (
        ExpressionWrapper(condition, output_field=BooleanField())
        if condition
        else Value(True)
    )
    return incident_existence_list(user=user).annotate(details_visible=visible)


def incident_details_visible(*, incident: Incident, user: User | None) -> bool:
    """Return whether `user` may see the incident's details (None: nobody in
    particular, e.g. a team channel)."""
    if not incident.restricted:
        return True
    if user is None or not user.is_authenticated:
        return False
    return (
        Incident.objects.filter(pk=incident.pk).filter(details_visible_q(user)).exists()
    )


def incident_restriction_suggested(*, incident: Incident) -> bool:
    """Return whether to offer restricting the incident: a security incident
    whose details every team member still sees."""
    return incident.category == Incident.Category.SECURITY and not incident.restricted


def incident_pir_required_reasons(*, incident: Incident) -> list[str]:
    """Return why the incident needs a post-incident review; empty: it does
    not (a PIR may still be written). The review work reads this."""
    reasons = []
    if incident.severity.pir_required:
        reasons.append(f"severity {incident.severity.code} requires a review")
    if incident.category == Incident.Category.SECURITY:
        reasons.append("security incidents always get a review")
    return reasons


def incident_timeline(*, incident: Incident) -> QuerySet[TimelineEvent]:
    """Return the incident's timeline, oldest first."""
    return incident.timeline.select_related("actor").order_by("at", "id")


def _no_hidden_incident(user: User) -> Q:
    """Rows of no incident, or of one whose details `user` may see."""
    return Q(incident__isnull=True) | details_visible_q(user, "incident__")


def incident_evidence(*, incident: Incident) -> QuerySet[EvidenceRecord]:
    """Return the incident's evidence, oldest first, with its transfers."""
    transfers = CustodyTransfer.objects.select_related("recorded_by").order_by(
        "transferred_at", "id"
    )
    return (
        EvidenceRecord.objects.filter(incident=incident)
        .select_related("recorded_by", "incident")
        .prefetch_related(Prefetch("transfers", queryset=transfers))
        .order_by("recorded_at", "id")
    )


def severity_list() -> QuerySet[SeverityLevel]:
    """Return the severity matrix, most severe first."""
    return SeverityLevel.objects.order_by("rank")


def user_is_member(*, user: User, team: Team) -> bool:
    """Return whether `user` belongs to `team`."""
    return user.is_authenticated and team.memberships.filter(user_id=user.pk).exists()


def integration_list(*, user: User) -> QuerySet[Integration]:
    """Return the integrations of `user`'s teams' services."""
    return _scoped(
        Integration.objects.select_related("service"), user, "service__team__"
    )


def alert_list(*, user: User) -> QuerySet[Alert]:
    """Return the alerts of `user`'s teams' services, newest first."""
    alerts = Alert.objects.select_related("service", "incident")
    return _scoped(alerts, user, "service__team__").filter(_no_hidden_incident(user))


def alert_event_list(*, user: User) -> QuerySet[AlertEvent]:
    """Return the received events of `user`'s teams' services, newest first."""
    events = AlertEvent.objects.select_related("incident").order_by("-id")
    return _scoped(events, user, "service__team__").filter(_no_hidden_incident(user))


def maintenance_window_list(*, user: User) -> QuerySet[MaintenanceWindow]:
    """Return the maintenance windows of `user`'s teams' services."""
    windows = MaintenanceWindow.objects.select_related("service", "created_by")
    return _scoped(windows, user, "service__team__")


def change_event_list(*, user: User) -> QuerySet[ChangeEvent]:
    """Return the change events of `user`'s teams' services."""
    return _scoped(
        ChangeEvent.objects.select_related("service"), user, "service__team__"
    )


def change_list(*, service: Service) -> QuerySet[ChangeEvent]:
    """Return a service's recent changes, newest first."""
    return service.changes.order_by("-timestamp", "-id")
