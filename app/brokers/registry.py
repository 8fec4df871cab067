"""The registry of broker adapters, by the scheme of BROKER_URL.

It maps a scheme to "module:Class" and imports lazily, so a deployment needs
only the driver of the broker it uses.
"""

import importlib
from urllib.parse import urlsplit, urlunsplit

from app.brokers.base import BrokerUnavailable

REGISTRY = {
    "memory": "app.brokers.memory:MemoryBroker",
    "kafka": "app.brokers.kafka:KafkaBroker",
    "amqp": "app.brokers.rabbitmq:RabbitMQBroker",
    "amqps": "app.brokers.rabbitmq:RabbitMQBroker",
}


def broker_class(url):
    """The adapter class for `url`, with a clear error for an unknown scheme or driver."""
    scheme = urlsplit(url).scheme
    if scheme not in REGISTRY:
        raise BrokerUnavailable(
            f"Unknown broker URL scheme {scheme!r} in {url!r}; use one of {sorted(REGISTRY)}"
        )
    module_name, class_name = REGISTRY[scheme].split(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise BrokerUnavailable(
            f"The driver for {scheme}:// is not installed ({error}); "
            "install Herald with its broker extras (pip install -e '.[brokers]')"
        ) from error
    return getattr(module, class_name)


def create_broker(url, **options):
    """Instantiate the adapter for `url`."""
    return broker_class(url)(url, **options)


def redacted(url):
    """`url` with its password hidden, fit for logs and error messages."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))
