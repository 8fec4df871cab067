"""Checks on request bodies before any view parses them.

Size is capped by MAX_CONTENT_LENGTH (413, from Flask). Here: a body must be
JSON (415 otherwise), and JSON may nest at most JSON_MAX_DEPTH deep (400), since
Python's parser recurses and a few kilobytes of brackets would exhaust the stack.
A view marked `@accepts_upload("SETTING")` takes multipart/form-data instead,
of at most `config[SETTING]` bytes: that one route's own limit, set on its
request before anything reads the body.
"""

from flask import current_app, request

from app.errors import error_response

OPENERS, CLOSERS = frozenset(b"[{"), frozenset(b"]}")
QUOTE, BACKSLASH = ord('"'), ord("\\")


def json_depth(body):
    """How deeply `body` (JSON bytes) nests arrays and objects; strings are skipped."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == BACKSLASH:
                escaped = True
            elif byte == QUOTE:
                in_string = False
        elif byte == QUOTE:
            in_string = True
        elif byte in OPENERS:
            depth += 1
            deepest = max(deepest, depth)
        elif byte in CLOSERS:
            depth -= 1
    return deepest


def accepts_upload(limit_setting):
    """Mark a view (method) as taking multipart/form-data of up to `config[limit_setting]`
    bytes. Put it below flask-smorest's decorators: theirs copy the mark outwards."""

    def mark(view):
        view.upload_limit_setting = limit_setting
        return view

    return mark


def _upload_limit_setting():
    """The setting that limits this request's upload, when its view takes one."""
    view = current_app.view_functions.get(request.endpoint)
    view_class = getattr(view, "view_class", None)
    handler = getattr(view_class, request.method.lower(), None) if view_class else view
    return getattr(handler, "upload_limit_setting", None)


def check_body():
    """A before-request hook for /api: JSON only, and not nested too deep."""
    if not request.path.startswith("/api/"):
        return None
    upload_limit = _upload_limit_setting()
    if upload_limit:
        request.max_content_length = current_app.config[upload_limit]
    has_body = request.method in ("POST", "PUT", "PATCH") and request.content_length
    if not has_body:
        return None
    if upload_limit:
        if request.mimetype != "multipart/form-data":
            return error_response(415, "Send the file as multipart/form-data.")
        return None
    if not request.is_json:
        return error_response(415, "Send the body as application/json.")
    limit = current_app.config["JSON_MAX_DEPTH"]
    if json_depth(request.get_data(cache=True)) > limit:
        return error_response(400, f"The JSON body nests deeper than {limit} levels.")
    return None
