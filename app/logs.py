"""Herald's logs: human-readable by default, one JSON object per line with LOG_FORMAT=json,
and the request id (`app.correlation`) on every line.

JSON comes from python-json-logger. Each line has `time`, `level`, `logger`,
`message` and `request_id`, plus `exc_info` when there is a traceback, so a log
pipeline can follow one notification from the POST to every socket it reached.
gunicorn's own lines (start-up, the access log) are made JSON by `gunicorn.conf.py`
with the same formatter (`json_formatter`).
"""

import logging

from flask import g, request
from pythonjsonlogger.json import JsonFormatter

from app import correlation
from app.errors import HeraldError

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s"
JSON_RENAMES = {"asctime": "time", "levelname": "level", "name": "logger"}


class InvalidRequestId(HeraldError):
    status_code = 400


def json_formatter() -> logging.Formatter:
    return JsonFormatter(JSON_FIELDS, rename_fields=JSON_RENAMES)


def configure(*, level: str, log_format: str) -> None:
    """Give the root logger Herald's handler, unless something else configured logging
    (as `logging.basicConfig` would: pytest's capture, an embedding application)."""
    if log_format not in ("text", "json"):
        raise RuntimeError(f"LOG_FORMAT must be text or json, not {log_format!r}")
    root = logging.getLogger()
    ours = [h for h in root.handlers if getattr(h, "herald", False)]
    if root.handlers and not ours:
        return
    for handler in ours:  # a second app in the process: its settings win
        root.removeHandler(handler)
    handler = logging.StreamHandler()
    handler.herald = True
    handler.addFilter(correlation.RequestIdFilter())
    formatter = json_formatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
    handler.setFormatter(formatter)
    root.addHandler(handler)
    root.setLevel(level)


def _take_request_id():
    given = request.headers.get(correlation.HEADER)
    g.herald_request_id_token = correlation.bind(
        given if given and correlation.is_valid(given) else correlation.new_request_id()
    )
    if given is not None and not correlation.is_valid(given):
        raise InvalidRequestId(
            f"{correlation.HEADER} must be 1 to {correlation.MAX_LENGTH} letters, digits "
            "or ._:+=/@- characters.",
            errors={correlation.HEADER: ["Not a valid request id."]},
        )


def _return_request_id(response):
    response.headers[correlation.HEADER] = correlation.current() or ""
    return response


def _forget_request_id(_error=None):
    token = g.pop("herald_request_id_token", None)
    if token is not None:
        correlation.unbind(token)


def init_app(app):
    configure(level=app.config["LOG_LEVEL"], log_format=app.config["LOG_FORMAT"])
    app.before_request(_take_request_id)
    app.after_request(_return_request_id)
    app.teardown_request(_forget_request_id)
