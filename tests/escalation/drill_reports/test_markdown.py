"""The drill report's Markdown export, word for word."""

from __future__ import annotations

from escalation.drill_document import drill_document
from escalation.drill_selectors import drill_report

GOLDEN = """\
# Drill report: Site down

**Incident:** INC-2026-12-01-001
**Severity:** P0
**Service:** Website (team platform)
**Detected:** 2026-12-01 12:00 UTC
**Outcome:** completed (ended 2026-12-01 13:10 UTC)
**Expected:** acknowledge and name an incident commander within 15 min, \
resolve within 1 h

## Response

- First acknowledgement after 12 min
- Incident commander: carol at 2026-12-01 12:25 UTC, after 25 min (late)
- Time to resolve: 1 h 10 min

## Responders

| Responder | Paged by | Paged at | Acknowledged after | Responded after |
|---|---|---|---|---|
| alice | L1 On call | 2026-12-01 12:00 UTC | — | 14 min |
| bob | L1 On call | 2026-12-01 12:00 UTC | — | never responded |
| carol | L2 Backup | 2026-12-01 12:10 UTC | 2 min | 2 min |

Pages of those who never responded:

- bob: Webhook (signed JSON), failed — 127.0.0.1 answered HTTP 404 Not Found.

## Escalation levels

| Level | Paged at | Paged | Outcome | Acknowledged |
|---|---|---|---|---|
| L1 On call | 2026-12-01 12:00 UTC | alice, bob | Paged | — |
| L2 Backup | 2026-12-01 12:10 UTC | carol | Paged | carol after 2 min |

## Status updates

One update due every 30 min.
- due 2026-12-01 12:30 UTC: posted 2026-12-01 12:28 UTC
- due 2026-12-01 12:58 UTC: **missed**

## Checklist

8 of 12 done.
- [x] Incident detected and acknowledged
- [x] Severity assessed
- [x] Incident ticket created
- [x] IC assigned
- [ ] Initial notification sent
- [ ] War room established (if P0/P1)
- [x] Timeline document started
- [ ] Investigation begun
- [x] Status updates sent regularly
- [x] Resolution implemented
- [x] Verification complete
- [ ] Resolution notification sent

## What to improve

- bob never responded to the page (Webhook (signed JSON): failed (127.0.0.1 \
answered HTTP 404 Not Found.)): check their contact methods and notification \
rules, and that they know they are on call.
- The incident commander (carol) was assigned after 25 min; expected within 15 min.
- 1 of 2 status updates were missed (due 2026-12-01 12:58 UTC; one is due every \
30 min).
- Checklist items not done: Initial notification sent, War room established \
(if P0/P1), Investigation begun, Resolution notification sent.
- Resolving took 1 h 10 min; the target is 1 h.
"""


def test_the_markdown_export_of_a_scripted_drill_reads_as_written(scripted_drill):
    assert drill_document(drill_report(scripted_drill)) == GOLDEN
