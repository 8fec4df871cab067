"""SMTP_URL and the standard library's smtplib.

`smtp://user:pass@host:port` (plain; port 25 by default), `smtps://...` (TLS
from the first byte, 465) and `smtp+starttls://...` (plain, then STARTTLS, 587;
`smtp://...?starttls=1` means the same). User and password are URL-encoded.
Certificates are checked against the system's CAs unless `?verify=0`.
"""

import functools
import smtplib
import ssl
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

DEFAULT_PORTS = {"smtp": 25, "smtps": 465, "smtp+starttls": 587}
#: Failures worth another attempt later: the server refused (4xx/5xx) or was unreachable.
SEND_ERRORS = (smtplib.SMTPException, OSError)


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    tls: bool  # TLS at connection (smtps)
    starttls: bool
    username: str | None
    password: str | None
    verify: bool


def parse(url: str) -> SmtpSettings:
    parts = urlsplit(url)
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        raise ValueError(f"SMTP_URL must be smtp://, smtps:// or smtp+starttls://, not {url!r}")
    query = parse_qs(parts.query)
    flag = lambda name, default: query.get(name, [default])[0].lower() in ("1", "true", "yes")  # noqa: E731
    return SmtpSettings(
        host=parts.hostname,
        port=parts.port or DEFAULT_PORTS[parts.scheme],
        tls=parts.scheme == "smtps",
        starttls=parts.scheme == "smtp+starttls" or flag("starttls", "0"),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        verify=flag("verify", "1"),
    )


@functools.cache
def _tls_context(verify: bool) -> ssl.SSLContext:
    # Made once: loading the system's CAs costs more than a whole plain SMTP exchange.
    context = ssl.create_default_context()
    if not verify:
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    return context


def send(settings: SmtpSettings, message, *, timeout: float) -> None:
    """Hand `message` (an EmailMessage) to the server; returns once it accepted it."""
    context = _tls_context(settings.verify) if settings.tls or settings.starttls else None
    if settings.tls:
        client = smtplib.SMTP_SSL(settings.host, settings.port, timeout=timeout, context=context)
    else:
        client = smtplib.SMTP(settings.host, settings.port, timeout=timeout)
    with client:
        if settings.starttls:
            client.starttls(context=context)
        if settings.username:
            client.login(settings.username, settings.password or "")
        client.send_message(message)
