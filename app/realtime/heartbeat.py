"""Keeps this instance's presence true: beats, repairs entries, sweeps dead instances."""

import logging
import threading

from app.concurrency import spawn
from app.database import DATABASE_ERRORS
from app.realtime import presence

logger = logging.getLogger(__name__)


class PresenceHeartbeat:
    def __init__(self, hub, *, instance_id, ttl, on_swept):
        self.hub, self.instance_id, self.ttl = hub, instance_id, ttl
        self.on_swept = on_swept  # called with each user a dead instance had online
        self._stop = threading.Event()

    def start(self):
        spawn(self._run, name="herald-heartbeat")

    def stop(self):
        self._stop.set()
        try:
            presence.retire_instance(self.instance_id)
        except DATABASE_ERRORS:
            logger.warning(
                "Could not retire presence of %s; it expires by itself", self.instance_id
            )

    def beat_once(self):
        presence.beat(self.instance_id, ttl=self.ttl)
        # Entries written while the database was away are repaired here.
        presence.sync_instance(self.instance_id, self.hub.user_ids())
        for user_id in presence.sweep_dead_instances(grace=self.ttl):
            self.on_swept(user_id)

    def _run(self):
        while not self._stop.is_set():
            try:
                self.beat_once()
            except Exception:
                logger.exception("Presence heartbeat failed")
            self._stop.wait(self.ttl / 3)
