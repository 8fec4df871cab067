"""Signals one feature sends and another reacts to, without importing each other.

The node (`app.node`) connects the receivers, once per app: a signal is sent
with the app as its sender, so two apps in one process (two instances in a
test) react only to their own.
"""

from blinker import Namespace

_signals = Namespace()

#: Some or all of a user's tokens were revoked (logout, password change):
#: `send(app, user_id=...)`. The node closes the user's sockets whose token is
#: revoked, here and on every instance.
tokens_revoked = _signals.signal("tokens-revoked")
