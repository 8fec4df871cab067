"""What one push carries: the notification as REST shows it, cut to fit a push message.

Push services take 4096 bytes of body (RFC 8030 section 7.2) and aes128gcm adds 103
(an 86-byte header, a 16-byte tag, one padding delimiter), so the JSON gets 3993. A
notification that does not fit loses its `data` first, then the end of its message;
`truncated` tells the service worker, which keeps the `id` to fetch the whole one.
"""

import json

PUSH_BODY_LIMIT = 4096
AES128GCM_OVERHEAD = 86 + 16 + 1
PAYLOAD_LIMIT = PUSH_BODY_LIMIT - AES128GCM_OVERHEAD
ELLIPSIS = "…"


def _encode(payload: dict) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def build(notification: dict, *, limit: int = PAYLOAD_LIMIT) -> bytes:
    """The push payload for `notification`, at most `limit` bytes."""
    payload = {"type": "notification", "truncated": False, "data": dict(notification)}
    encoded = _encode(payload)
    if len(encoded) <= limit:
        return encoded
    payload["truncated"] = True
    payload["data"]["data"] = None
    encoded = _encode(payload)
    if len(encoded) <= limit:
        return encoded
    return _shorten_message(payload, limit)


def _shorten_message(payload: dict, limit: int) -> bytes:
    """Keep the longest start of the message that fits (a binary search over its length)."""
    message = payload["data"].get("message") or ""
    keep_low, keep_high = 0, len(message)
    best = None
    while keep_low <= keep_high:
        keep = (keep_low + keep_high) // 2
        payload["data"]["message"] = message[:keep] + ELLIPSIS
        encoded = _encode(payload)
        if len(encoded) <= limit:
            best, keep_low = encoded, keep + 1
        else:
            keep_high = keep - 1
    if best is None:  # the other fields alone are too long: only what finds the rest
        data = payload["data"]
        best = _encode({"type": "notification", "truncated": True, "data": {"id": data["id"]}})
    return best
