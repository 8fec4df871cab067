"""Signals one feature sends and another reacts to, without importing each other.

The node (`app.node`) connects the receivers, once per app: a signal is sent
with the app as its sender, so two apps in one process (two instances in a
test) react only to their own.
"""

from blinker import Namespace

_signals = Namespace()

#: Some or all of a user's tokens were revoked (logout, password change, deletion):
#: `send(app, user_id=...)`. The node closes the user's sockets whose token is
#: revoked, here and on every instance.
tokens_revoked = _signals.signal("tokens-revoked")

#: A user is deleting their account: `send(app, user_id=...)`, after every token
#: of theirs was revoked and before their `User` document is removed (so a
#: handler may still read it). Each domain package connects one handler (in
#: `app.node`) that deletes what the user owns or takes part in: `user_id` is
#: all it gets. A handler must be idempotent (delete by query, never fail on
#: "already gone"): when one fails the deletion stops with an error, the user
#: signs in again and retries, and every handler runs again. A handler must not
#: send a signal, publish, or block on anything but the database.
user_deleted = _signals.signal("user-deleted")
