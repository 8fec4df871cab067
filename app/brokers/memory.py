"""In-process broker for development and fast unit tests.

Brokers built from the same URL (`memory://` or `memory://name`) share topics,
so two apps in one process behave like two instances on one real broker.
"""

import threading
from collections import deque

from app.brokers.base import Broker, BrokerUnavailable, Message, Subscription

_NETWORKS = {}
_NETWORKS_LOCK = threading.Lock()


class _Group:
    """Messages of one topic waiting for one consumer group."""

    def __init__(self):
        self.waiting = deque()
        self.in_flight = {}
        self.next_receipt = 0


class _Network:
    """Topics and their groups, shared by the brokers of one URL."""

    def __init__(self):
        self.condition = threading.Condition()
        self.topics = {}  # topic -> {group name -> _Group}

    def group(self, topic, name):
        return self.topics.setdefault(topic, {}).setdefault(name, _Group())


class MemorySubscription(Subscription):
    def __init__(self, network, topic, group_name):
        self.network, self.topic = network, topic
        self.group = network.group(topic, group_name)
        self.mine = set()
        self.closed = False

    def poll_many(self, timeout, limit):
        group = self.group
        with self.network.condition:
            if not self.network.condition.wait_for(lambda: group.waiting or self.closed, timeout):
                return []
            batch = []
            while group.waiting and len(batch) < limit and not self.closed:
                message = group.waiting.popleft()
                receipt = group.next_receipt
                group.next_receipt += 1
                group.in_flight[receipt] = message
                self.mine.add(receipt)
                batch.append(
                    Message(
                        message.topic, message.value, message.key, dict(message.headers), receipt
                    )
                )
        return batch

    def ack_many(self, messages):
        with self.network.condition:
            for message in messages:
                self.group.in_flight.pop(message.receipt, None)
                self.mine.discard(message.receipt)

    def close(self):
        with self.network.condition:
            # Unacknowledged messages go back, first in line, for the group's next consumer.
            for receipt in sorted(self.mine, reverse=True):
                message = self.group.in_flight.pop(receipt, None)
                if message is not None:
                    self.group.waiting.appendleft(message)
            self.mine.clear()
            self.closed = True
            self.network.condition.notify_all()


class MemoryBroker(Broker):
    """Topics in a dict; every group of a topic gets every message."""

    scheme = "memory"

    def __init__(self, url, **options):
        super().__init__(url, **options)
        name = url.split("://", 1)[1]
        with _NETWORKS_LOCK:
            self.network = _NETWORKS.setdefault(name, _Network())
        self.closed = False

    def publish_many(self, messages):
        if self.closed:
            raise BrokerUnavailable("memory broker is closed")
        with self.network.condition:
            for message in messages:
                for group in self.network.topics.setdefault(message.topic, {}).values():
                    group.waiting.append(message)
            self.network.condition.notify_all()

    def subscribe(self, topic, *, group, durable=False):
        # Every group lives as long as the process: durable or not, it keeps its place.
        return MemorySubscription(self.network, topic, group)

    def backlog(self, topic, groups):
        with self.network.condition:
            known = self.network.topics.get(topic, {})
            return {
                name: {"": len(known[name].waiting) + len(known[name].in_flight)}
                for name in groups
                if name in known
            }

    def close(self):
        self.closed = True
