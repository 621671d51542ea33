"""Reads of the incident core, scoped to what a user may see."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import TypeVar

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.contrib.auth.models import User as Account
from django.db import connection
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

from config.db import own_rows
from incidents.lifecycle import OPEN_STATUSES
from incidents.models import (
    ActionItem,
    Alert,
    AlertEvent,
    ChangeEvent,
    CustodyTransfer,
    EvidenceRecord,
    Incident,
    Integration,
    MaintenanceWindow,
    RoleAssignment,
    RootCauseTag,
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
    """Rows of no incident, or of one whose details `user` may see (an empty
    condition, which ORs to nothing, when `user` sees every incident's)."""
    visible = details_visible_q(user, "incident__")
    return Q(incident__isnull=True) | visible if visible else Q()


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


def incident_status_sql(*, incident_id: str) -> str:
    """Return an SQL expression for the status of the incident whose id is the
    SQL expression `incident_id` (a column of the caller's statement), for an
    app that reads it within one statement of its own rows (notifications'
    delivery claim) instead of a query more per row."""
    quote = connection.ops.quote_name
    table = quote(Incident._meta.db_table)
    status = quote(Incident._meta.get_field("status").column)
    key = quote(Incident._meta.pk.column)
    return f"(SELECT {status} FROM {table} WHERE {key} = {incident_id})"  # noqa: S608


def incident_queryset() -> QuerySet[Incident]:
    """Return every incident, unscoped and unordered: the base of a sweep or a
    score that adds conditions of its own app's rows (an escalation's policy)
    or narrows it to one incident."""
    return Incident.objects.all()


def incident_locking() -> QuerySet[Incident]:
    """Return the incidents, each locked for the caller's transaction as it
    is read, as every writer of an incident locks it: its row only, not its
    key, so inserts of rows that refer to it go on."""
    return Incident.objects.select_for_update(of=own_rows(), no_key=True)


def incident_lock(*, incident_id: int) -> Incident:
    """Return the incident (with its severity and service) locked for the
    caller's transaction: the lock every writer of an incident takes first.
    It does not block the inserts of rows that refer to the incident."""
    return incident_locking().select_related("severity", "service").get(pk=incident_id)


def incident_update_check_due(*, now: datetime) -> QuerySet[Incident]:
    """Return the incidents whose status update clock needs a look by `now`
    (`update_check_at` has come), the longest waiting first."""
    return Incident.objects.filter(update_check_at__lte=now).order_by("update_check_at")


def incident_lock_update_check_due(
    *, incident_id: int, now: datetime
) -> Incident | None:
    """Return the incident (with its severity and service) locked as
    `incident_lock` locks it, if its update clock still needs a look by
    `now`; None if it does not (or it is gone)."""
    return (
        incident_locking()
        .select_related("severity", "service")
        .filter(pk=incident_id, update_check_at__lte=now)
        .first()
    )


def incident_role_holder(*, incident: Incident, role: str) -> Account | None:
    """Return who holds `role` (an `IncidentRole`) on the incident, if anyone."""
    assignment = (
        RoleAssignment.objects.filter(incident=incident, role=role)
        .select_related("user")
        .first()
    )
    return assignment.user if assignment is not None else None


def incident_lock_unless_busy(*, incident_id: int) -> bool:
    """Lock the incident for the caller's transaction and return True, or
    return False at once if another transaction holds it (or it is gone)."""
    free = Incident.objects.select_for_update(skip_locked=True, no_key=True)
    return bool(free.filter(pk=incident_id).values_list("pk", flat=True))


def incident_triggered_list(*, declared_before: datetime) -> QuerySet[Incident]:
    """Return the incidents still triggered that were declared before then."""
    return Incident.objects.filter(
        status=Incident.Status.TRIGGERED, created_at__lt=declared_before
    )


def _users_in_joining_order(members: QuerySet[TeamMembership]) -> list[Account]:
    return [m.user for m in members.select_related("user").order_by("id")]


def team_member_users(*, team: Team | None, role: str = "") -> list[Account]:
    """Return the members of `team` (those with `role`, if given), in the
    order they joined."""
    members = TeamMembership.objects.filter(team=team)
    if role:
        members = members.filter(role=role)
    return _users_in_joining_order(members)


def team_active_lead_users(*, team_id: int) -> list[Account]:
    """Return the active leads of the team, in the order they joined."""
    return _users_in_joining_order(
        TeamMembership.objects.filter(
            team_id=team_id, role=TeamMembership.Role.LEAD, user__is_active=True
        )
    )


def user_team_leads(*, user_ids: set[int]) -> dict[int, list[Account]]:
    """Return the leads of each user's teams, by user id: each lead once per
    user, in the order they joined; a user of no team with a lead is absent."""
    teams: dict[int, set[int]] = defaultdict(set)
    for user_id, team_id in TeamMembership.objects.filter(
        user_id__in=user_ids
    ).values_list("user_id", "team_id"):
        teams[team_id].add(user_id)
    leads: dict[int, list[Account]] = defaultdict(list)
    for membership in (
        TeamMembership.objects.filter(team_id__in=teams, role=TeamMembership.Role.LEAD)
        .select_related("user")
        .order_by("id")
    ):
        for user_id in teams[membership.team_id]:
            if membership.user not in leads[user_id]:
                leads[user_id].append(membership.user)
    return leads


def team_has_member(*, team: Team, user: Account) -> bool:
    return TeamMembership.objects.filter(team=team, user_id=user.pk).exists()


def team_by_slug(*, slug: str) -> Team | None:
    """Return the team with that slug, if any."""
    return Team.objects.filter(slug=slug).first()


def team_first_service(*, team: Team) -> Service | None:
    """Return the team's first service by name, if it has any."""
    return Service.objects.filter(team=team).order_by("name", "pk").first()


def service_by_slug(*, slug: str) -> Service | None:
    """Return the service with that slug (of any team), if any."""
    return Service.objects.filter(slug=slug).first()


def team_major_incident_open(*, team: Team) -> Incident | None:
    """Return an open real (not drill) P0 or P1 of the team's, if any."""
    return (
        Incident.objects.filter(
            service__team=team,
            is_drill=False,
            status__in=OPEN_STATUSES,
            severity__code__in=("P0", "P1"),
        )
        .order_by("started_at")
        .first()
    )


def action_item_list(*, user: User) -> QuerySet[ActionItem]:
    """Return the action items of `user`'s teams' incidents."""
    items = ActionItem.objects.select_related("incident", "owner")
    return _scoped(items, user, "incident__service__team__")


def root_cause_tag_list(*, user: User) -> QuerySet[RootCauseTag]:
    """Return the root-cause vocabularies of `user`'s teams."""
    return _scoped(RootCauseTag.objects.select_related("team"), user, "team__")
