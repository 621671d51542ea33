"""The built-in notification templates: the SOPs' words, per kind and format.

Chat bodies follow the Incident Response SOP's "Communication Templates"
(🚨 Incident Declared, 📊 Incident Update, ✅ Incident Resolved); email
subjects and bodies follow the Incident Response Protocol's (`[P0 INCIDENT] -
Site Down`, `… - UPDATE - …`, `[RESOLVED] P0 Incident - …`). SMS texts stay
in plain ASCII so that a message fits GSM-7's 160-character segments.

Templates are rendered with `trim_blocks` and `lstrip_blocks`: a `{% … %}` tag
alone on its line leaves no trace. The renderer strips the ends and folds
runs of blank lines into one, so an optional line just sits in an `if`.

Over 400 lines on purpose: it is the templates' text, every kind and format
side by side, so that their wording stays consistent.
"""

from __future__ import annotations

KINDS = (
    "page",
    "initial",
    "update",
    "resolution",
    "reminder",
    "verification",
    "test",
    "notice",
    "contact_test",
)
FORMATS = ("subject", "text", "chat", "short")

# Shared opening lines, written into each template so that what an admin
# starts editing from is whole.
_SEVERITY = (
    '{% set severity = incident.severity ~ (" - " ~ incident.severity_name'
    ' if incident.severity_name else "") %}\n'
)
_STATUS = "{% set status = incident.status_display or incident.status %}\n"
_IMPACT = (
    '{% set impact = (incident.impact or "Under investigation")'
    ' ~ (" (" ~ incident.users_affected ~ " users affected)"'
    ' if incident.users_affected else "") %}\n'
)
_NEXT_UPDATE = """\
{% if incident.next_update_at %}
Next update: {{ incident.next_update_at }}
{% elif incident.update_cadence_minutes %}
Next update: within {{ incident.update_cadence_minutes }} minutes
{% endif %}
"""

_INITIAL_CHAT = (
    _SEVERITY
    + _STATUS
    + _IMPACT
    + """\
{% set cadence = "every " ~ incident.update_cadence_minutes ~ " minutes" \
if incident.update_cadence_minutes else "as soon as we know more" %}
🚨 **Incident Declared** 🚨

**Incident ID**: {{ incident.id }}
**Severity**: {{ severity }}
**Start Time**: {{ incident.started_at or incident.detected_at }}
**Impact**: {{ impact }}

**Status**: {{ status }}
{% if incident.next_update_at %}
**Next Update**: {{ incident.next_update_at }}
{% endif %}

We're investigating an issue affecting {{ incident.service or "our service" }}: \
{{ incident.title }}. We'll provide updates {{ cadence }}.

{% if incident.war_room %}
**War Room**: {{ incident.war_room }}
{% endif %}
{% if incident.url %}
**Details**: {{ incident.url }}
{% endif %}
"""
)

_INITIAL_TEXT = (
    _SEVERITY
    + _STATUS
    + _IMPACT
    + """\
INCIDENT: {{ incident.id }}
SEVERITY: {{ severity }}
STATUS: {{ status }}
IMPACT: {{ impact }}
STARTED: {{ incident.started_at or incident.detected_at }}
IC: {{ incident.commander or "not assigned yet" }}

We are currently experiencing an incident: {{ incident.title }}. The team is \
investigating and working on restoration.

{{ incident.summary }}

"""
    + _NEXT_UPDATE
    + """
{% if incident.url %}
Incident: {{ incident.url }}
{% endif %}
{% if links.acknowledge %}
Acknowledge: {{ links.acknowledge }}
{% endif %}
"""
)

_PAGE_CHAT = (
    _SEVERITY
    + _STATUS
    + _IMPACT
    + """\
🚨 **Page: {{ incident.severity }} Incident** 🚨

{{ recipient.name ~ ", you" if recipient.name else "You" }} are being paged for \
**{{ incident.title }}**.

{% if links.acknowledge %}
**Acknowledge**: {{ links.acknowledge }}
{% endif %}
{% if links.resolve %}
**Resolve**: {{ links.resolve }}
{% endif %}

**Incident ID**: {{ incident.id }}
**Severity**: {{ severity }}
**Start Time**: {{ incident.started_at or incident.detected_at }}
**Impact**: {{ impact }}
**Status**: {{ status }}
{% if incident.commander %}
**Incident Commander**: {{ incident.commander }}
{% endif %}
{% if incident.war_room %}
**War Room**: {{ incident.war_room }}
{% endif %}
{% if incident.url %}
**Details**: {{ incident.url }}
{% endif %}
"""
)

_PAGE_TEXT = (
    _SEVERITY
    + _STATUS
    + _IMPACT
    + """\
{{ recipient.name ~ ", you" if recipient.name else "You" }} are being paged for \
this incident.

{% if links.acknowledge %}
Acknowledge: {{ links.acknowledge }}
{% endif %}
{% if links.resolve %}
Resolve: {{ links.resolve }}
{% endif %}

INCIDENT: {{ incident.id }}
SEVERITY: {{ severity }}
STATUS: {{ status }}
IMPACT: {{ impact }}
STARTED: {{ incident.started_at or incident.detected_at }}
IC: {{ incident.commander or "not assigned yet" }}

{{ incident.title }}

{{ incident.summary }}

{% if incident.war_room %}
War room: {{ incident.war_room }}
{% endif %}
{% if incident.url %}
Incident: {{ incident.url }}
{% endif %}
"""
)

# One SMS segment: the acknowledge link goes in only when it keeps the text
# within it; "Reply ACK <code>" works without it.
_PAGE_SHORT = """\
{% set line = "[" ~ incident.severity ~ "] " ~ incident.id ~ " " ~ incident.title
   ~ "." %}
{% if sms_code %}
{% set line = line ~ " Reply ACK " ~ sms_code ~ " to acknowledge." %}
{% endif %}
{% if links.acknowledge and (line ~ " " ~ links.acknowledge)|length <= 160 %}
{% set line = line ~ " " ~ links.acknowledge %}
{% elif links.acknowledge and not sms_code %}
{% set line = line ~ " Acknowledge: " ~ links.acknowledge %}
{% endif %}
{{ line }}
"""

_UPDATE_CHAT = (
    _STATUS
    + """\
📊 **Incident Update** 📊

**Incident ID**: {{ incident.id }}
{% if update.posted_at %}
**Time**: {{ update.posted_at }}
{% endif %}
**Status**: {{ status }}

**Update**: {{ update.text or "No new information yet." }}
**Impact**: {{ update.impact or incident.impact or "Under investigation" }}
{% if update.next_steps %}
**Next Steps**: {{ update.next_steps }}
{% endif %}
**ETA**: {{ update.eta or "Not known yet" }}

{% if incident.update_cadence_minutes %}
Next update in {{ incident.update_cadence_minutes }} minutes.
{% elif incident.next_update_at %}
Next update at {{ incident.next_update_at }}.
{% endif %}

{% if incident.url %}
**Details**: {{ incident.url }}
{% endif %}
"""
)

_UPDATE_TEXT = (
    _SEVERITY
    + _STATUS
    + """\
INCIDENT: {{ incident.id }}
SEVERITY: {{ severity }}
STATUS: {{ status }}
{% if incident.duration %}
DURATION: {{ incident.duration }}
{% endif %}

UPDATE:
{{ update.text or "No new information yet." }}

IMPACT:
{{ update.impact or incident.impact or "Under investigation" }}

{% if update.next_steps %}
NEXT STEPS:
{{ update.next_steps }}

{% endif %}
ETA: {{ update.eta or "not known yet" }}
"""
    + _NEXT_UPDATE
    + """
{% if incident.url %}
Incident: {{ incident.url }}
{% endif %}
"""
)

# A post-incident report within 24 hours is promised for P0/P1 only.
_REPORT_PROMISED = '{% set report_promised = incident.severity in ("P0", "P1") %}\n'

_RESOLUTION_CHAT = (
    _REPORT_PROMISED
    + """\
✅ **Incident Resolved** ✅

**Incident ID**: {{ incident.id }}
**Resolved**: {{ incident.resolved_at or "just now" }}
{% if incident.duration %}
**Duration**: {{ incident.duration }}
{% endif %}

**Issue**: {{ incident.title }}
**Resolution**: {{ incident.resolution or incident.resolution_type or "Resolved" }}
**Impact**: {{ incident.impact or "None reported" }}

We apologize for any disruption.\
{{ " Full incident report will be shared within 24 hours." if report_promised else "" }}

{% if incident.url %}
**Details**: {{ incident.url }}
{% endif %}
"""
)

_RESOLUTION_TEXT = (
    _SEVERITY
    + _REPORT_PROMISED
    + """\
INCIDENT: {{ incident.id }}
SEVERITY: {{ severity }}
STATUS: Resolved
{% if incident.duration %}
DURATION: {{ incident.duration }}
{% endif %}
RESOLVED: {{ incident.resolved_at or "just now" }}

The incident has been resolved. {{ incident.service or "The service" }} is now \
accessible and functioning normally.

ROOT CAUSE:
{{ incident.root_cause or "Still being analysed." }}

RESOLUTION:
{{ incident.resolution_type ~ ": " if incident.resolution_type else "" }}\
{{ incident.resolution or "See the incident timeline." }}

PREVENTION:
Follow-up actions are tracked as action items of the post-incident review.

{% if report_promised %}
Full incident report will be available within 24 hours.
{% endif %}

{% if incident.url %}
Incident: {{ incident.url }}
{% endif %}
"""
)

# To the Communications Lead when an update is overdue, and (stage "page")
# to the incident commander and team lead once it is overdue past the grace.
_REMINDER_TEXT = (
    _SEVERITY
    + _STATUS
    + """\
{% if reminder.stage == "page" %}
The status update of {{ incident.id }} is still overdue: it was due at \
{{ reminder.due_at }} ({{ reminder.overdue }} ago).
{% else %}
A status update of {{ incident.id }} is due: it was promised for \
{{ reminder.due_at }}.
{% endif %}
Please post one now{{ " (every " ~ incident.update_cadence_minutes ~ " minutes \
for " ~ incident.severity ~ ")" if incident.update_cadence_minutes else "" }}.

INCIDENT: {{ incident.id }} - {{ incident.title }}
SEVERITY: {{ severity }}
STATUS: {{ status }}
IC: {{ incident.commander or "not assigned yet" }}

{% if incident.url %}
Incident: {{ incident.url }}
{% endif %}
"""
)

_VERIFICATION = "Your Vigil verification code is {{ code }}"

# The quarterly contact-method test and its reminder: a signed confirm link,
# and for a phone (SMS, voice) a code to reply "CONFIRM <code>" with.
_CONTACT_TEST_INTRO = """\
{% if contact_test.stage == "reminder" %}
Reminder: the test message Vigil sent to this contact method on \
{{ contact_test.sent_at }} has not been confirmed yet.

{% endif %}
This is a test of your contact method, not an incident. Vigil tests every \
verified contact method each quarter, so that a page reaches you when it \
matters.
"""
_CONTACT_TEST_TEXT = (
    _CONTACT_TEST_INTRO
    + """
Please confirm that it reached you: {{ links.confirm }}
{% if code %}
Or reply CONFIRM {{ code }} by SMS from this number.
{% endif %}
"""
)
_CONTACT_TEST_CHAT = (
    _CONTACT_TEST_INTRO
    + """
**Please confirm that it reached you**: {{ links.confirm }}
"""
)
_CONTACT_TEST_SHORT = """\
Vigil test{{ " reminder" if contact_test.stage == "reminder" else "" }}, \
not an incident.
{% if code %}
Reply CONFIRM {{ code }} to confirm this number works.
{% else %}
Confirm: {{ links.confirm }}
{% endif %}
"""
_TEST = "Test message from Vigil: this contact method works."

BUILTIN: dict[str, dict[str, str]] = {
    "page": {
        "subject": "[{{ incident.severity }} INCIDENT] - {{ incident.title }}",
        "text": _PAGE_TEXT,
        "chat": _PAGE_CHAT,
        "short": _PAGE_SHORT,
    },
    "initial": {
        "subject": "[{{ incident.severity }} INCIDENT] - {{ incident.title }}",
        "text": _INITIAL_TEXT,
        "chat": _INITIAL_CHAT,
        "short": "[{{ incident.severity }}] {{ incident.id }} {{ incident.title }}"
        " - {{ (incident.status_display or incident.status)|lower }}."
        " {{ incident.url }}",
    },
    "update": {
        "subject": "[{{ incident.severity }} INCIDENT] - UPDATE - {{ incident.title }}",
        "text": _UPDATE_TEXT,
        "chat": _UPDATE_CHAT,
        "short": "[{{ incident.severity }}] {{ incident.id }} {{ incident.title }}"
        " - {{ (incident.status_display or incident.status)|lower }}:"
        ' {{ (update.text or "no new information yet")|truncate(200) }}'
        " {{ incident.url }}",
    },
    "resolution": {
        "subject": "[RESOLVED] {{ incident.severity }} Incident - {{ incident.title }}",
        "text": _RESOLUTION_TEXT,
        "chat": _RESOLUTION_CHAT,
        "short": "[RESOLVED] [{{ incident.severity }}] {{ incident.id }}"
        " {{ incident.title }}"
        ' - resolved{{ " after " ~ incident.duration if incident.duration else "" }}.'
        " {{ incident.url }}",
    },
    "reminder": {
        "subject": "[{{ incident.severity }} INCIDENT] - UPDATE "
        '{{ "OVERDUE" if reminder.stage == "page" else "DUE" }} - {{ incident.title }}',
        "text": _REMINDER_TEXT,
        "chat": "⏰ " + _REMINDER_TEXT,
        "short": "[{{ incident.severity }}] {{ incident.id }}: status update"
        ' {{ "overdue since" if reminder.stage == "page" else "due at" }}'
        " {{ reminder.due_at }}. Post one now. {{ incident.url }}",
    },
    "verification": {
        "subject": "Vigil verification code",
        "text": _VERIFICATION,
        "chat": _VERIFICATION,
        "short": _VERIFICATION,
    },
    "test": dict.fromkeys(FORMATS, _TEST),
    "contact_test": {
        "subject": '{{ "Reminder: " if contact_test.stage == "reminder" else "" }}'
        "Vigil contact-method test: please confirm",
        "text": _CONTACT_TEST_TEXT,
        "chat": _CONTACT_TEST_CHAT,
        "short": _CONTACT_TEST_SHORT,
    },
    # A reminder, invitation or digest to one person about follow-up work:
    # the service that writes it words it (post-incident reviews).
    "notice": {
        "subject": "{{ notice.subject }}",
        "text": "{{ notice.text }}",
        "chat": "{{ notice.text }}",
        "short": "{{ notice.subject }}",
    },
}
