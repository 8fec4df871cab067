"""The current time as stored: UTC, cut to the millisecond MongoDB keeps.

Cutting it here means a notification reads the same in the POST response, in
REST and over the socket.
"""

from datetime import UTC, datetime


def now():
    moment = datetime.now(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)
