"""The quarterly contact-method test: every verified method confirms it works.

A round writes one `ContactTest` row per verified contact method of an
active user (unique per round and method) and, in the same transaction, one
test message to it through the delivery log (purpose `contact_test`). The
message carries a signed link to a page whose button confirms the test; an
SMS or voice message also carries a code to reply "CONFIRM <code>" with.

The sweep (beat) claims what is due with a conditional update, so each
happens once however many sweeps run: a test unconfirmed after
`VIGIL_CONTACT_TEST_REMIND_HOURS` is sent again as a reminder, and one still
unconfirmed `VIGIL_CONTACT_TEST_REPORT_HOURS` after that is reported to the
person's team leads, one e-mail per lead listing the methods. The method
shows "unconfirmed since …" (`ContactMethod.unconfirmed_since`) until a test
of it is confirmed.
"""

from __future__ import annotations

import re
import secrets
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone

from incidents.formatting import when
from incidents.selectors import user_team_leads
from notifications.exceptions import ActionLinkError
from notifications.models import (
    ContactMethod,
    ContactTest,
    ContactTestRound,
    Delivery,
    Kind,
)
from notifications.services.deliveries import delivery_write_to_method
from notifications.services.links import sms_reply_failed, sms_reply_guard
from notifications.services.paging import person_notify

SALT = "vigil.notifications.contact-test"
# Phones get a code to reply with; the others open the link.
PHONE_KINDS = (Kind.SMS, Kind.VOICE)
CONFIRM_REPLY = re.compile(r"^\s*CONFIRM\s+(\d{4,8})\s*$", re.I)
# What one sweep handles at most of each step; the next sweep takes the rest.
SWEEP_LIMIT = 500
NO_LEAD = "no team lead"


def quarter_key(now: datetime) -> str:
    """Return the quarter `now` falls in, in Vigil's time zone: "2026-Q4"."""
    local = timezone.localtime(now)
    return f"{local.year}-Q{(local.month - 1) // 3 + 1}"


def contact_test_round_start_due(
    *, now: datetime | None = None
) -> ContactTestRound | None:
    """Start this quarter's round once its first day's test hour has come (beat).

    The round's key is the quarter, unique: beat restarts, duplicate task
    messages and racing workers start it once. A quarter whose day was
    missed (beat down) starts at the next run.
    """
    now = now or timezone.now()
    local = timezone.localtime(now)
    first_month = (local.month - 1) // 3 * 3 + 1
    opens = local.replace(
        month=first_month,
        day=1,
        hour=settings.VIGIL_CONTACT_TEST_HOUR,
        minute=0,
        second=0,
        microsecond=0,
    )
    key = quarter_key(now)
    if local < opens or ContactTestRound.objects.filter(key=key).exists():
        return None
    return contact_test_round_start(key=key, now=now)


@transaction.atomic
def contact_test_round_start(
    *,
    key: str = "",
    methods: QuerySet[ContactMethod] | None = None,
    by: User | None = None,
    now: datetime | None = None,
) -> ContactTestRound | None:
    """Test every verified method of an active user (or those of `methods`).

    Return the round, or None if a round of `key` exists already. Without a
    key the round is one by hand, named by its time.
    """
    now = now or timezone.now()
    key = key or f"manual-{now:%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"
    try:
        with transaction.atomic():
            started = ContactTestRound.objects.create(
                key=key, started_at=now, started_by=by
            )
    except IntegrityError:
        return None
    chosen = methods if methods is not None else ContactMethod.objects.all()
    chosen = chosen.filter(verified_at__isnull=False, user__is_active=True)
    tests = ContactTest.objects.bulk_create(
        ContactTest(
            round=started,
            contact_method=method,
            nonce=secrets.token_urlsafe(24),
            code=f"{secrets.randbelow(10**4):04d}",
            created_at=now,
        )
        for method in chosen.select_related("user").order_by("id")
    )
    for test in tests:
        _send(test, stage="test", now=now)
    ContactMethod.objects.filter(
        pk__in=[test.contact_method_id for test in tests],
        unconfirmed_since__isnull=True,
    ).update(unconfirmed_since=now)
    return started


def _send(test: ContactTest, *, stage: str, now: datetime) -> None:
    """Write the test's message (`stage` "test" or "reminder") to its method."""
    method = test.contact_method
    extra: dict[str, Any] = {
        "links": {"confirm": _url(test)},
        "contact_test": {"stage": stage, "sent_at": when(test.created_at)},
    }
    if method.kind in PHONE_KINDS:
        extra["code"] = test.code
    delivery_write_to_method(
        contact_method=method,
        purpose=Delivery.Purpose.CONTACT_TEST,
        message_kind="contact_test",
        event_key=f"contact-test:{test.pk}:{stage}",
        extra=extra,
        now=now,
    )


def _url(test: ContactTest) -> str:
    token = signing.dumps([test.pk, test.nonce], salt=SALT, compress=True)
    path = reverse("contact-test-confirm", kwargs={"token": token})
    return f"{settings.VIGIL_BASE_URL}{path}"


def contact_test_get(*, token: str) -> ContactTest:
    """Return the unconfirmed test a link names, or raise ActionLinkError."""
    try:
        test_id, nonce = signing.loads(token, salt=SALT)
    except (signing.BadSignature, TypeError, ValueError):
        raise ActionLinkError("this link is not valid") from None
    test = (
        ContactTest.objects.select_related("contact_method__user", "round")
        .filter(pk=test_id)
        .first()
    )
    if test is None or not secrets.compare_digest(str(nonce), test.nonce):
        raise ActionLinkError("this link is not valid")
    if test.confirmed_at is not None:
        raise ActionLinkError(
            f"this test was already confirmed ({test.confirmed_via} at "
            f"{timezone.localtime(test.confirmed_at):%Y-%m-%d %H:%M})"
        )
    return test


@transaction.atomic
def contact_test_confirm_by_link(
    *, token: str, now: datetime | None = None
) -> ContactTest:
    """Confirm the test a link names; a second use is refused."""
    return _confirm(contact_test_get(token=token), via="link", now=now)


def contact_test_confirm_by_sms(
    *, phone: str, body: str, now: datetime | None = None
) -> ContactTest:
    """Confirm the open test of the SMS or voice method at `phone` whose code
    the reply "CONFIRM <code>" names.

    A code that names no open test counts against the number as a wrong
    acknowledge code does; the lookup is outside the transaction that
    confirms, so that the failure stays counted.
    """
    now = now or timezone.now()
    match = CONFIRM_REPLY.match(body)
    if match is None:
        raise ActionLinkError('reply "CONFIRM <code>"')
    sms_reply_guard(phone=phone, now=now)
    test = (
        ContactTest.objects.select_related("contact_method__user")
        .filter(
            contact_method__kind__in=PHONE_KINDS,
            contact_method__address=phone,
            contact_method__verified_at__isnull=False,
            code=match.group(1),
            confirmed_at__isnull=True,
        )
        .order_by("-created_at")
        .first()
    )
    if test is None:
        sms_reply_failed(phone=phone, now=now)
        raise ActionLinkError(
            f"no contact test with code {match.group(1)} is waiting for this number"
        )
    with transaction.atomic():
        return _confirm(test, via="sms", now=now)


def _confirm(test: ContactTest, *, via: str, now: datetime | None) -> ContactTest:
    """Spend the test, or raise if it was confirmed meanwhile.

    The method works, so its other open tests (an older round's) are
    confirmed with it.
    """
    now = now or timezone.now()
    open_tests = ContactTest.objects.filter(confirmed_at__isnull=True)
    if not open_tests.filter(pk=test.pk).update(confirmed_at=now, confirmed_via=via):
        raise ActionLinkError("this test was already confirmed")
    open_tests.filter(contact_method_id=test.contact_method_id).update(
        confirmed_at=now, confirmed_via=via
    )
    ContactMethod.objects.filter(pk=test.contact_method_id).update(
        test_confirmed_at=now, unconfirmed_since=None
    )
    test.confirmed_at, test.confirmed_via = now, via
    return test


def contact_tests_sweep(*, now: datetime | None = None) -> int:
    """Remind, then report, the tests left unconfirmed (beat); return how many.

    Each step claims its rows with a conditional update in the transaction
    that writes its messages: a step happens once per test, whatever runs
    at the same time, and a crash before commit leaves it to the next sweep.
    """
    now = now or timezone.now()
    remind_before = now - timedelta(hours=settings.VIGIL_CONTACT_TEST_REMIND_HOURS)
    report_before = now - timedelta(hours=settings.VIGIL_CONTACT_TEST_REPORT_HOURS)
    unconfirmed = ContactTest.objects.filter(
        confirmed_at__isnull=True, reported_at__isnull=True
    )
    due = unconfirmed.filter(reminded_at__isnull=True, created_at__lte=remind_before)
    done = sum(
        _remind(test_id, now)
        for test_id in due.values_list("pk", flat=True)[:SWEEP_LIMIT]
    )
    overdue = unconfirmed.filter(reminded_at__lte=report_before)
    ids = list(overdue.order_by("pk").values_list("pk", flat=True)[:SWEEP_LIMIT])
    return done + (_report(ids, now) if ids else 0)


@transaction.atomic
def _remind(test_id: int, now: datetime) -> int:
    claimed = ContactTest.objects.filter(
        pk=test_id, reminded_at__isnull=True, confirmed_at__isnull=True
    ).update(reminded_at=now)
    if not claimed:
        return 0
    test = ContactTest.objects.select_related("contact_method__user").get(pk=test_id)
    _send(test, stage="reminder", now=now)
    return 1


@transaction.atomic
def _report(ids: list[int], now: datetime) -> int:
    """Claim the tests of `ids` still unreported and tell their team leads."""
    claimed = [
        test_id
        for test_id in ids
        if ContactTest.objects.filter(
            pk=test_id, reported_at__isnull=True, confirmed_at__isnull=True
        ).update(reported_at=now)
    ]
    tests = list(
        ContactTest.objects.filter(pk__in=claimed)
        .select_related("contact_method__user")
        .order_by("contact_method__user__username", "contact_method_id")
    )
    leads = user_team_leads(user_ids={test.contact_method.user_id for test in tests})
    by_lead: dict[User, list[ContactTest]] = defaultdict(list)
    for test in tests:
        for lead in leads.get(test.contact_method.user_id, []):
            by_lead[lead].append(test)
    told: dict[int, list[str]] = defaultdict(list)
    for lead, theirs in by_lead.items():
        sent = person_notify(
            user=lead,
            event_key=f"contact-test-report:t{theirs[0].pk}",
            subject=_report_subject(theirs),
            text=_report_text(theirs),
            purpose=Delivery.Purpose.CONTACT_TEST,
            now=now,
        )
        name = _name(lead) + ("" if sent else " (no verified e-mail)")
        for test in theirs:
            told[test.pk].append(name)
    for test in tests:
        ContactTest.objects.filter(pk=test.pk).update(
            reported_to=(", ".join(told[test.pk]) or NO_LEAD)[:500]
        )
    return len(tests)


def _name(user: User) -> str:
    return user.get_full_name() or user.get_username()


def _report_subject(tests: list[ContactTest]) -> str:
    count = len(tests)
    return f"{count} contact method{'s' if count != 1 else ''} not confirmed"


def _report_text(tests: list[ContactTest]) -> str:
    lines = [
        f"- {_name(test.contact_method.user)}: "
        f"{test.contact_method.get_kind_display()} "
        f"{test.contact_method.display_address}, unconfirmed since "
        f"{when(test.contact_method.unconfirmed_since or test.created_at)}"
        for test in tests
    ]
    return (
        "These contact methods of your team's members did not confirm the "
        "contact-method test, nor its reminder:\n\n"
        + "\n".join(lines)
        + "\n\nA method that does not confirm may not reach its owner when "
        "they are paged: please ask them to check it, and to confirm it from "
        "the test message or remove it."
    )
