"""SMTP_URL: each form it takes, and each way of talking to the server, against real Mailpits."""

import subprocess
import uuid
from email.message import EmailMessage

import pytest

from app.channels.email import smtp
from tests.channels.mailpit import Mailpit


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mail.example.com", ("mail.example.com", 25, False, False, None, None, True)),
        ("smtps://u:p@mail.example.com", ("mail.example.com", 465, True, False, "u", "p", True)),
        (
            "smtp+starttls://me%40example.com:s%3Acret@smtp.example.com:2525",
            ("smtp.example.com", 2525, False, True, "me@example.com", "s:cret", True),
        ),
        ("smtp://h:587?starttls=1&verify=0", ("h", 587, False, True, None, None, False)),
    ],
)
def test_smtp_urls(url, expected):
    parsed = smtp.parse(url)
    fields = ("host", "port", "tls", "starttls", "username", "password", "verify")
    assert tuple(getattr(parsed, name) for name in fields) == expected


@pytest.mark.parametrize("url", ["http://mail.example.com", "smtp://", "mail.example.com:25"])
def test_other_urls_are_refused(url):
    with pytest.raises(ValueError, match="SMTP_URL"):
        smtp.parse(url)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory, mailpit_build):
    folder = tmp_path_factory.mktemp("tls")
    command = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1"
    subprocess.run(
        [*command.split(), "-keyout", str(folder / "key.pem"), "-out", str(folder / "cert.pem")],
        check=True,
        capture_output=True,
    )
    mailpit_build.wait(timeout=900)
    return folder / "cert.pem", folder / "key.pem"


@pytest.mark.parametrize(
    ("scheme", "flag"),
    [("smtp+starttls", "--smtp-require-starttls"), ("smtps", "--smtp-require-tls")],
)
def test_starttls_and_smtps_with_a_login_reach_the_server(certificate, scheme, flag):
    cert, key = certificate
    server = Mailpit(extra=["--smtp-tls-cert", str(cert), "--smtp-tls-key", str(key), flag])
    server.start()
    try:
        settings = smtp.parse(f"{scheme}://herald:secret@127.0.0.1:{server.smtp_port}?verify=0")
        message = EmailMessage()
        to = f"tls-{uuid.uuid4().hex[:8]}@example.test"
        message["From"], message["To"], message["Subject"] = "herald@example.test", to, scheme
        message.set_content("over TLS")
        smtp.send(settings, message, timeout=10)
        [arrived] = server.wait_for(to)
        assert arrived["Subject"] == scheme
        # The same server refuses plain SMTP: the TLS above was real.
        plain = smtp.parse(f"smtp://herald:secret@127.0.0.1:{server.smtp_port}")
        with pytest.raises(smtp.SEND_ERRORS):
            smtp.send(plain, message, timeout=5)
    finally:
        server.stop()
