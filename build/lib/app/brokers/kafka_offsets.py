"""Which Kafka offsets a consumer may commit: only past messages that were acknowledged.

Kafka's commit is a position, not a set: committing offset N says every message
before N was handled. Messages are acknowledged out of order (a retry holds one
back), so the position to commit is the oldest message still unacknowledged.
"""


class AckedOffsets:
    """Per partition, the offset the group may resume from without losing an unacked message."""

    def __init__(self):
        self.in_flight = {}  # partition -> offsets handed out and not yet acked
        self.highest_acked = {}
        self.resume_at = {}  # partition -> offset last committed (or to commit)

    def delivered(self, partition, offset):
        self.in_flight.setdefault(partition, set()).add(offset)

    def acked(self, partition, offset):
        """Record an ack; return the new resume offset when it moved forward, else None."""
        return self.acked_many([(partition, offset)]).get(partition)

    def acked_many(self, positions):
        """Record acks of (partition, offset) pairs; {partition: new resume offset} for those
        whose resume offset moved forward.

        The oldest offset still unacked is looked for once per partition, not once
        per ack: a consumer acks whole batches, and per ack that search made
        acknowledging a batch quadratic in its size.
        """
        touched = set()
        for partition, offset in positions:
            self.in_flight.setdefault(partition, set()).discard(offset)
            if offset > self.highest_acked.get(partition, -1):
                self.highest_acked[partition] = offset
            touched.add(partition)
        moved = {}
        for partition in touched:
            waiting = self.in_flight[partition]
            # An older message still unacked holds the resume point back: committing past
            # it would lose it if this subscription dies.
            resume = min(waiting) if waiting else self.highest_acked[partition] + 1
            if resume > self.resume_at.get(partition, -1):
                self.resume_at[partition] = resume
                moved[partition] = resume
        return moved

    def forget(self, partitions):
        for partition in partitions:
            for progress in (self.in_flight, self.highest_acked, self.resume_at):
                progress.pop(partition, None)
