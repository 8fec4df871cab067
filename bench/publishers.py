"""Publishing notification events straight to a broker at a fixed rate (for `bench.fanout`).

Payloads come from the app's own encoder: `app.delivery.events.encode` on
an unsaved `Notification` whose `data` is `{"t": <send time>, "p": <phase>}`.
Encoding is done once per recipient as a template, split around the id and the
send time (checked against a real `encode` at start); a message is the template
joined with a fresh id and the batch's send time, so the publisher spends its
CPU publishing, not in marshmallow. Each message gets a fresh UUID, as the hub
drops repeated ids.

Kafka: confluent-kafka producer (acks=all, idempotent, linger 2 ms, like
Herald's). RabbitMQ: pika, persistent messages to the fanout exchange, buffered
on the channel and flushed once a batch, without publisher confirms (Herald's
relay commits a transaction per batch; a load generator need not).
The pacing is open loop: the publisher keeps to its schedule whether or not
Herald keeps up, so a backlog shows up as latency.
"""

import itertools
import os
import time

PLACEHOLDER_ID = "00000000-0000-4000-8000-000000000000"
PLACEHOLDER_T = "1000000000.000001"
SENDER = "11111111-1111-4111-8111-111111111111"
HEADERS = {"content-type": "application/json", "herald-event": "notification"}


def templates(user_ids, phase):
    """user id -> the payload split around its id and send time, checked against the encoder."""
    from app.clock import now
    from app.delivery import events
    from app.notifications.models import Notification

    def encoded(user_id, notification_id, sent):
        return events.encode(
            Notification(
                id=notification_id,
                user_id=user_id,
                sender_id=SENDER,
                message="fan-out benchmark",
                type="bench",
                data={"t": sent, "p": phase},
                created_at=now(),
            )
        )

    def split(payload):
        head, rest = payload.split(PLACEHOLDER_ID.encode())
        middle, tail = rest.split(PLACEHOLDER_T.encode())
        return head, middle, tail

    return {u: split(encoded(u, PLACEHOLDER_ID, float(PLACEHOLDER_T))) for u in user_ids}


# Unique canonical UUIDs without os.urandom per message: a random prefix per process + a counter.
_PREFIX = "{:08x}-{:04x}-4{:03x}-8{:03x}-".format(
    *(int.from_bytes(os.urandom(4)) % m for m in (16**8, 16**4, 16**3, 16**3))
).encode()
_COUNTER = itertools.count()


def send_time():
    """Now, as the payloads carry it (`data.t`)."""
    return b"%.6f" % time.time()


def fill(template, sent=None):
    """The payload of `template` with a fresh notification id, sent at `sent` (default now)."""
    head, middle, tail = template
    notification_id = b"%s%012x" % (_PREFIX, next(_COUNTER))
    return b"".join((head, notification_id, middle, sent or send_time(), tail))


def paced(user_ids, rate, seconds, sleep=time.sleep):
    """Yield batches of recipients so that `rate` per second go out for `seconds`."""
    total = int(rate * seconds)
    sent, start = 0, time.monotonic()
    while sent < total:
        due = min(total, int(rate * (time.monotonic() - start)) + 1)
        if due > sent:
            yield [user_ids[n % len(user_ids)] for n in range(sent, due)]
            sent = due
        else:
            sleep(0.0005)


def _kafka(url, topic, user_ids, rate, seconds, phase, report):
    from confluent_kafka import Producer

    producer = Producer(
        {
            "bootstrap.servers": url.split("://", 1)[1],
            "acks": "all",
            "enable.idempotence": True,
            "linger.ms": 2,
            "queue.buffering.max.messages": 1000000,
        }
    )
    made = templates(user_ids, phase)
    headers = list(HEADERS.items())
    count = 0
    for batch in paced(user_ids, rate, seconds):
        sent = send_time()
        for user_id in batch:
            producer.produce(topic, fill(made[user_id], sent), key=user_id, headers=headers)
        count += len(batch)
        producer.poll(0)
    left = producer.flush(30)
    report.put({"published": count - left})


def _rabbitmq(url, topic, user_ids, rate, seconds, phase, report):
    import pika

    connection = pika.BlockingConnection(pika.URLParameters(url))
    channel = connection.channel()
    channel.exchange_declare(topic, exchange_type="fanout", durable=True)
    made = templates(user_ids, phase)
    properties = pika.BasicProperties(headers=HEADERS, delivery_mode=2)
    count = 0
    for batch in paced(user_ids, rate, seconds):
        sent = send_time()
        for user_id in batch:
            # Buffered on the channel underneath, as Herald's relay does; one flush a batch.
            channel._impl.basic_publish(topic, user_id, fill(made[user_id], sent), properties)
        connection.process_data_events(time_limit=0)
        count += len(batch)
    connection.close()
    report.put({"published": count})


def publish(kind, url, topic, user_ids, rate, seconds, phase, report):
    """Process entry point: publish at `rate`/s for `seconds`, then report the count."""
    target = {"kafka": _kafka, "rabbitmq": _rabbitmq}[kind]
    try:
        target(url, topic, user_ids, rate, seconds, phase, report)
    except BaseException as error:
        report.put({"error": repr(error)})
