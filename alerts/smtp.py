"""Sending one email over SMTP (none, STARTTLS or implicit TLS), with failures classified.

`TemporaryFailure` (connection refused or dropped, timeouts, 4xx replies) is retried later with
backoff; `PermanentFailure` (5xx replies: bad address, message refused) is not. A connection
lost after the message data was sent is temporary too, although the server may have accepted
the message: that is the one case where a retry can deliver a second copy (same Message-ID).
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage

from diemnong.settings import SmtpSettings


class SendFailure(RuntimeError):
    pass


class TemporaryFailure(SendFailure):
    """Try again later."""


class PermanentFailure(SendFailure):
    """The server refused the message for good."""


class Mailer:
    def __init__(self, settings: SmtpSettings, timeout_s: float = 30.0) -> None:
        self.settings = settings
        self.timeout_s = timeout_s

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        if s.security == "tls":
            return smtplib.SMTP_SSL(
                s.host, s.port, timeout=self.timeout_s, context=ssl.create_default_context()
            )
        client = smtplib.SMTP(s.host, s.port, timeout=self.timeout_s)
        if s.security == "starttls":
            client.starttls(context=ssl.create_default_context())
        return client

    def send(self, message: EmailMessage) -> None:
        """Hand ``message`` to the server; returns only once the server accepted it."""
        try:
            client = self._connect()
        except (OSError, smtplib.SMTPException) as error:
            raise TemporaryFailure(
                f"cannot connect to {self.settings.host}:{self.settings.port}: {error}"
            ) from error
        try:
            if self.settings.username and self.settings.password:
                client.login(self.settings.username, self.settings.password.get_secret_value())
            refused = client.send_message(message)
            if refused:
                raise PermanentFailure(f"recipients refused: {refused}")
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _ in error.recipients.values()]
            kind = TemporaryFailure if all(400 <= c < 500 for c in codes) else PermanentFailure
            raise kind(f"recipients refused: {error.recipients}") from error
        except smtplib.SMTPResponseException as error:
            kind = TemporaryFailure if 400 <= error.smtp_code < 500 else PermanentFailure
            raise kind(f"{error.smtp_code} {error.smtp_error!r}") from error
        except (OSError, smtplib.SMTPException) as error:
            raise TemporaryFailure(str(error) or type(error).__name__) from error
        finally:
            try:
                client.quit()
            except (OSError, smtplib.SMTPException):
                client.close()
