"""Emails from Jinja2 templates: one notification, or a digest of several.

Templates live in `templates/`: `<type>.html` and `<type>.txt` for a notification
of that type when they exist, `default.*` otherwise, `digest.*` for several.
HTML templates autoescape (the message and data are the sender's words); the
text ones do not need to. Every email carries List-Unsubscribe and
List-Unsubscribe-Post (RFC 8058) with a signed one-click link, and a Message-ID
made of the delivery batch's id, so an email sent again after a crash is
recognisably the same email.
"""

import re
from email import policy
from email.message import EmailMessage
from email.utils import formataddr, formatdate
from urllib.parse import urlsplit

from jinja2 import Environment, PackageLoader, select_autoescape

from app.channels.email import unsubscribe

ENV = Environment(
    loader=PackageLoader("app.channels.email", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
TEMPLATE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")  # a type that may name a template
SUBJECT_LENGTH = 120
# SMTP's line endings; lines up to RFC 5322's 998 characters, so the unsubscribe URL is
# never folded (a folded or RFC 2047-encoded URL is one mail clients cannot use).
POLICY = policy.SMTP.clone(max_line_length=998)


def _templates(kind, ext):
    """The template names to try for a notification of type `kind`, best first."""
    own = [f"{kind}.{ext}"] if kind and TEMPLATE_NAME.match(kind) else []
    return [*own, f"default.{ext}"]


def message_id(config, batch_id: str) -> str:
    host = urlsplit(config["PUBLIC_URL"]).hostname or "herald.localhost"
    return f"<{batch_id}.email@{host}>"


def compose(config, *, batch_id, user, notifications, senders) -> EmailMessage:
    """The email for `notifications` (dicts as REST shows them) to `user`."""
    digest = len(notifications) > 1
    kind = None if digest else notifications[0].get("type")
    kinds = {n.get("type") for n in notifications}
    # One type: the link turns off that type; a digest of several turns off email.
    link = unsubscribe.url(
        config, user_id=user.id, channel="email", kind=kinds.pop() if len(kinds) == 1 else None
    )
    context = {
        "user": user,
        "notifications": notifications,
        "notification": notifications[0],
        "senders": senders,
        "inbox_url": config["PUBLIC_URL"] + "/",
        "unsubscribe_url": link,
    }
    if digest:
        html = ENV.get_template("digest.html").render(context)
        text = ENV.get_template("digest.txt").render(context)
        subject = f"{len(notifications)} new notifications on Herald"
    else:
        html = ENV.select_template(_templates(kind, "html")).render(context)
        text = ENV.select_template(_templates(kind, "txt")).render(context)
        sender = senders.get(notifications[0]["senderId"], "Herald")
        subject = f"{sender}: {notifications[0]['message']}"
    message = EmailMessage(policy=POLICY)
    message["Subject"] = " ".join(subject.split())[:SUBJECT_LENGTH]
    message["From"] = config["EMAIL_FROM"]
    message["To"] = formataddr((user.display_name or user.username, user.email))
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = message_id(config, batch_id)
    message["List-Unsubscribe"] = f"<{link}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message["Auto-Submitted"] = "auto-generated"
    message["X-Herald-Notifications"] = ",".join(n["id"] for n in notifications)
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message
