"""The email channel: a notification still unread (or whose recipient was offline) by email.

`channel` records what is to be emailed, `sender` claims and sends it (digests,
retries, dead letters), `compose` renders the messages, `smtp` talks to the
server, `unsubscribe` signs and reads the one-click unsubscribe links.
"""
