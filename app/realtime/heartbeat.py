"""The loops that keep one instance's sockets and presence true.

`PresenceHeartbeat` beats for the instance (`app.cluster`), repairs its users'
presence entries after a database outage and sweeps what dead instances left.
`SocketUpkeep` closes sockets whose token expired and pings every socket from
one loop, closing those whose client stopped answering.
"""

import logging
import threading
import time
from collections.abc import Callable

from app import cluster, presence
from app.concurrency import spawn
from app.database import DATABASE_ERRORS
from app.realtime.hub import SocketHub

logger = logging.getLogger(__name__)


class PresenceHeartbeat:
    def __init__(
        self, hub: SocketHub, *, instance_id: str, ttl: float, on_swept: Callable[[str], None]
    ) -> None:
        self.hub, self.instance_id, self.ttl = hub, instance_id, ttl
        self.on_swept = on_swept  # called with each user a dead instance had online
        self._stop = threading.Event()

    def start(self) -> None:
        spawn(self._run, name="herald-heartbeat")

    def stop(self) -> None:
        self._stop.set()
        try:
            presence.forget_instance(self.instance_id)
            cluster.retire(self.instance_id)
        except DATABASE_ERRORS:
            logger.warning(
                "Could not retire presence of %s; it expires by itself", self.instance_id
            )

    def beat_once(self) -> None:
        cluster.beat(self.instance_id, ttl=self.ttl)
        # Entries written while the database was away are repaired here.
        presence.sync_instance(self.instance_id, self.hub.user_ids())
        for user_id in self.sweep_dead_instances():
            self.on_swept(user_id)

    def sweep_dead_instances(self) -> set[str]:
        """Forget instances dead for a TTL; returns the users they had online.

        An instance that was only slow re-creates its entries on its next beat.
        """
        swept = set()
        for instance_id in cluster.dead_instance_ids(grace=self.ttl):
            logger.info("Sweeping presence of dead instance %s", instance_id)
            swept.update(presence.forget_instance(instance_id))
            cluster.retire(instance_id)
        return swept

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.beat_once()
            except Exception:
                logger.exception("Presence heartbeat failed")
            self._stop.wait(self.ttl / 3)


class SocketUpkeep:
    """Expires sockets by their token's `exp` and pings them all, each from one loop."""

    def __init__(self, hub: SocketHub, *, token_check_interval: float, ping_interval: float):
        self.hub = hub
        self.token_check_interval, self.ping_interval = token_check_interval, ping_interval
        self._stop = threading.Event()

    def start(self) -> None:
        spawn(self._expire_tokens, name="herald-token-expiry")
        if self.ping_interval:
            spawn(self._ping_sockets, name="herald-pinger")

    def stop(self) -> None:
        self._stop.set()

    def _expire_tokens(self) -> None:
        while not self._stop.is_set():
            self.hub.close_expired(time.time())
            self._stop.wait(self.token_check_interval)

    def _ping_sockets(self) -> None:
        while not self._stop.wait(self.ping_interval):
            if closed := self.hub.ping_all():
                logger.info("Closed %d sockets whose clients stopped answering pings", closed)
