"""Kafka consumer lag: each group's committed offsets against the partitions' ends.

Read through the admin client, never a group's own consumer, so measuring a
group does not join it (which would make Kafka rebalance it). Every call blocks
in librdkafka or waits on a future, so each runs in the native thread pool.
"""

from functools import partial

from confluent_kafka import ConsumerGroupTopicPartitions, KafkaException, TopicPartition
from confluent_kafka.admin import OffsetSpec

from app.brokers.base import BrokerUnavailable
from app.concurrency import run_blocking


def _result(future, timeout, what):
    try:
        return run_blocking(partial(future.result, timeout=timeout))
    except (KafkaException, TimeoutError) as error:
        raise BrokerUnavailable(f"Kafka {what} failed: {error}") from error


def group_lag(admin, topic, groups, *, timeout):
    """{group: {partition: high-water offset - committed offset}} for `topic`.

    Groups with no committed offset on the topic (unknown here) are left out.
    """
    metadata = _result_of(partial(admin.list_topics, timeout=timeout), "metadata")
    if topic not in metadata.topics:
        return {}
    partitions = [TopicPartition(topic, p) for p in sorted(metadata.topics[topic].partitions)]
    ends = _ends(admin, partitions, timeout)
    lags = {}
    for group in groups:
        committed = _committed(admin, group, partitions, timeout)
        known = {p.partition: p.offset for p in committed if p.offset >= 0}
        if known:
            lags[group] = {
                str(partition): max(0, ends[partition] - offset)
                for partition, offset in known.items()
            }
    return lags


def _result_of(function, what):
    try:
        return run_blocking(function)
    except KafkaException as error:
        raise BrokerUnavailable(f"Kafka {what} failed: {error}") from error


def _ends(admin, partitions, timeout):
    futures = admin.list_offsets(
        {p: OffsetSpec.latest() for p in partitions}, request_timeout=timeout
    )
    return {
        p.partition: _result(f, timeout + 1.0, "list_offsets").offset for p, f in futures.items()
    }


def _committed(admin, group, partitions, timeout):
    request = [ConsumerGroupTopicPartitions(group, partitions)]
    futures = admin.list_consumer_group_offsets(request, request_timeout=timeout)
    return _result(futures[group], timeout + 1.0, "list_consumer_group_offsets").topic_partitions
