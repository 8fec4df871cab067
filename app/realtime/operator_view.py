"""The operator's view: live figures sent to admins' sockets (the admin page, /admin).

An admin's socket sends `{"type": "stats.watch"}` and gets a `stats` frame at
once, then one every ADMIN_STATS_INTERVAL seconds while it stays open: sockets
and deliveries per second (every worker of this host, from the Prometheus
metrics), users online, consumer lag of every live instance, the outbox backlog
and the pending dead letters (from the database and the broker). One loop per
instance runs only while some admin watches, so the figures cost nothing
otherwise.
"""

import logging
import threading
import time

from flask import current_app

from app import monitoring, presence
from app.auth.models import User
from app.concurrency import spawn
from app.database import DATABASE_ERRORS
from app.delivery.backlog import outbox_backlog
from app.delivery.dead_letters import DeadLetter
from app.extensions import current_node
from app.realtime import protocol

logger = logging.getLogger(__name__)
EXTENSION = "herald.operator_view"
_COUNTED = ("herald_sockets_open", "herald_frames_sent_total")


class OperatorView:
    """The admins watching this instance's figures, and the loop that sends them."""

    def __init__(self, node, config) -> None:
        self.node, self.config = node, config
        self.interval = config["ADMIN_STATS_INTERVAL"]
        self.scrape = monitoring.ScrapeTimeFigures(node, config)
        self._watchers = set()
        self._lock = threading.Lock()
        self._looping = False
        self._last_sent = None  # (monotonic time, frames sent then), for the rate

    def watch(self, session):
        """The answer to `stats.watch`: the figures now (admins only), more to follow."""
        user = User.objects(id=session.user_id).only("role").first()
        if user is None or not user.is_admin:
            return protocol.error(403, "The figures are for admins only.")
        with self._lock:
            self._watchers.add(session)
            start, self._looping = not self._looping, True
        if start:
            spawn(self._loop, name="herald-operator-view")
        return protocol.stats(self.figures())

    def _loop(self):
        while True:
            time.sleep(self.interval)
            with self._lock:
                self._watchers = {s for s in self._watchers if not s.closed}
                watchers = list(self._watchers)
                if not watchers:
                    self._looping = False
                    return
            try:
                frame = protocol.stats(self.figures())
            except Exception:
                logger.exception("The operator's figures could not be read; trying again")
                continue
            for session in watchers:
                session.push(frame)

    def figures(self) -> dict:
        counted = monitoring.totals(self.config, _COUNTED)
        figures = {
            "sockets": int(counted["herald_sockets_open"]),
            "deliveriesPerSecond": self._rate(counted["herald_frames_sent_total"]),
        }
        try:
            backlog, age = outbox_backlog(self.config["BROKER_TOPIC"])
            figures.update(
                usersOnline=len(presence.online_user_ids()),
                outboxBacklog=backlog,
                outboxOldestAge=round(age, 1),
                deadLetters=DeadLetter.objects(replayed_at=None).count(),
            )
        except DATABASE_ERRORS as error:
            figures["databaseError"] = str(error)
        try:
            lags = self.scrape.lag_by_instance()
            figures["consumerLag"] = {i: sum(p.values()) for i, p in lags.items()}
        except self.node.broker.connection_errors + DATABASE_ERRORS as error:
            figures["brokerError"] = str(error)
        return figures

    def _rate(self, sent):
        now, last = time.monotonic(), self._last_sent
        self._last_sent = (now, sent)
        if last is None or now <= last[0]:
            return 0.0
        return round(max(0.0, sent - last[1]) / (now - last[0]), 1)


def watch(session):
    """`stats.watch` from `session`, on the current app's view (made on first use)."""
    view = current_app.extensions.get(EXTENSION)
    if view is None:
        view = current_app.extensions[EXTENSION] = OperatorView(current_node(), current_app.config)
    return view.watch(session)
