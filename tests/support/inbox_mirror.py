"""A client's copy of an inbox, kept by the rules `app.realtime.protocol` gives clients.

`app/static/js/inbox.js` keeps the browser's list by the same rules; the tests
use this one to show that any socket, applying the frames in the order they
arrive, ends in the state the database has.
"""


class InboxMirror:
    """Notifications by id, the unread count, and the last change applied to each."""

    def __init__(self, notifications=(), unread_count=0):
        self.notifications = {n["id"]: dict(n) for n in notifications}
        self.unread_count = unread_count
        self.count_seq = -1  # the `seq` the count was taken from
        self.counted_through = None  # the newest notification that count looked at
        self.seq_of = {}  # notification id -> seq of the last change applied to it
        self.deleted = set()  # gone for good: a late change must not bring one back
        self.seqs = set()  # every seq seen, to know up to where nothing is missing
        self.resumed_at = 0  # the seq of the last `ready`: everything up to it is applied

    def apply(self, frame):
        kind = frame["type"]
        if kind == "ready":
            self.resumed_at = frame["data"]["inbox"]["seq"]
            self._take_count(frame["data"]["inbox"], force=True)
        elif kind == "notification":
            self._arrived(frame["data"])
        elif kind == "notification.updated":
            self._changed(frame["data"]["id"], frame["inbox"], frame["data"])
        elif kind == "notification.deleted":
            self._changed(frame["id"], frame["inbox"], None)
        elif kind == "notifications.read_all":
            still_unread = set(frame["stillUnread"])
            seq = frame["inbox"]["seq"]
            for notification_id, notification in self.notifications.items():
                if notification_id <= frame["upTo"] and self.seq_of.get(notification_id, 0) < seq:
                    notification["read"] = notification_id not in still_unread
                    self.seq_of[notification_id] = seq
            self._take_count(frame["inbox"])

    def applied_through(self):
        """The highest seq up to which every change was seen: what to resume from."""
        seq = self.resumed_at
        while seq + 1 in self.seqs:
            seq += 1
        return seq

    def _arrived(self, notification):
        if notification["id"] in self.notifications or notification["id"] in self.deleted:
            return
        self.notifications[notification["id"]] = dict(notification)
        counted = self.counted_through is not None and notification["id"] <= self.counted_through
        if not notification["read"] and not counted:
            self.unread_count += 1

    def _changed(self, notification_id, inbox, notification):
        seq = inbox["seq"]
        if notification_id not in self.deleted and self.seq_of.get(notification_id, 0) < seq:
            self.seq_of[notification_id] = seq
            if notification is None:
                self.deleted.add(notification_id)
                self.notifications.pop(notification_id, None)
            else:
                self.notifications[notification_id] = dict(notification)
        self._take_count(inbox)

    def _take_count(self, inbox, force=False):
        self.seqs.add(inbox["seq"])
        if force or inbox["seq"] > self.count_seq:
            self.count_seq = inbox["seq"]
            self.unread_count = inbox["unreadCount"]
            self.counted_through = inbox["countedThrough"]
