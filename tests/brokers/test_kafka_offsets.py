"""The commit position of a Kafka subscription (app/brokers/kafka_offsets.py)."""

from app.brokers.kafka_offsets import AckedOffsets


def handed_out(offsets_by_partition):
    offsets = AckedOffsets()
    for partition, handed in offsets_by_partition.items():
        for offset in handed:
            offsets.delivered(partition, offset)
    return offsets


def test_an_unacked_message_holds_the_resume_point_back_until_it_is_acked():
    offsets = handed_out({0: range(10, 15)})
    assert offsets.acked_many([(0, 10), (0, 12), (0, 13)]) == {0: 11}  # 11 still out
    assert offsets.acked(0, 14) is None  # 11 still holds it at 11
    assert offsets.acked(0, 11) == 15  # everything up to 14 handled
    assert offsets.resume_at == {0: 15}


def test_a_batch_moves_each_partition_as_the_same_acks_one_by_one_would():
    pairs = [(0, 5), (1, 7), (0, 6), (1, 9), (0, 8)]
    one_by_one = handed_out({0: range(5, 10), 1: range(7, 10)})
    for partition, offset in pairs:
        one_by_one.acked(partition, offset)
    batched = handed_out({0: range(5, 10), 1: range(7, 10)})
    assert batched.acked_many(pairs) == {0: 7, 1: 8}
    assert batched.resume_at == one_by_one.resume_at == {0: 7, 1: 8}
    assert batched.acked_many([]) == {}
