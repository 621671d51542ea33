"""Embedded mode (no EMAIL_HOST, no Twilio): pages stay out of the console.

A page carries acknowledge links and an SMS reply code that act as the
person paged; a process's output ends up in terminals and log collectors.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINK = "http://127.0.0.1:8000/respond/.eJyLVjI0MjKwNDJQ0lEqS8wpTgUAMe4F:1vRzKx:Qm3k/"
CODE = "4821"

SEND = f"""
import django
django.setup()
from notifications.transports.base import Destination, Message, TransportError
from notifications.transports.email import EmailTransport
from notifications.transports.twilio import SmsTransport, VoiceTransport

page = Message(
    subject="[P1] Website down",
    text="Acknowledge: {LINK}",
    chat="",
    short="[P1] Website down. Reply ACK {CODE} to acknowledge. {LINK}",
    acknowledge_url="{LINK}",
)
EmailTransport().send(page, Destination("email", "oncall@example.org"))
for transport, kind in ((SmsTransport(), "sms"), (VoiceTransport(), "voice")):
    try:
        transport.send(page, Destination(kind, "+14155550100"))
    except TransportError as error:
        assert error.permanent, error
        print(kind, "refused:", error)
    else:
        raise AssertionError(kind + " sent without Twilio credentials")
"""


def test_mail_goes_to_the_outbox_and_sms_is_refused_without_printing_codes(
    tmp_path: Path,
) -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("EMAIL_", "TWILIO_", "DJANGO_SETTINGS"))
    }
    env.update(VIGIL_VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="config.settings")

    done = subprocess.run(  # noqa: S603
        [sys.executable, "-c", SEND],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert "sms refused: Twilio is not configured" in done.stdout
    assert "voice refused: Twilio is not configured" in done.stdout
    for output in (done.stdout, done.stderr):
        assert LINK not in output
        assert CODE not in output
    outbox = tmp_path / "outbox"
    assert stat.S_IMODE(outbox.stat().st_mode) == 0o700
    (mail,) = outbox.iterdir()
    text = mail.read_text()
    assert "To: oncall@example.org" in text
    assert f"Acknowledge: {LINK}" in text
