"""Broker adapters, chosen by the scheme of BROKER_URL (`registry`); the interface is `base`."""

from app.brokers.base import (
    Broker,
    BrokerError,
    BrokerUnavailable,
    Message,
    OutgoingMessage,
    Subscription,
)
from app.brokers.registry import REGISTRY, broker_class, create_broker, redacted

__all__ = [
    "REGISTRY",
    "Broker",
    "BrokerError",
    "BrokerUnavailable",
    "Message",
    "OutgoingMessage",
    "Subscription",
    "broker_class",
    "create_broker",
    "redacted",
]
