"""What the notifications domain needs from delivery, as a typed port.

The services announce notifications and messages before they save them and
hand them over once saved, and announce each change of an inbox (and each
reading of a conversation) before applying it;
`app.delivery.relay.OutboxRelay` is the implementation the node wires in
(routes reach it as `current_node().outbox`). The domain never
imports delivery, so this Protocol is the whole contract between the two.
"""

from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from app.conversations.models import Message
    from app.notifications.models import Notification


class Outbox(Protocol):
    """One instance's outbox: ids in publication order, announcements, hand-over."""

    def new_ids(self, count: int) -> AbstractContextManager[list[str]]:
        """Fresh notification ids, held back from publishing until the block ends."""

    def creating(self, *notification_ids: str) -> AbstractContextManager[list[str]]:
        """Hold ids made earlier (a retried request's) back until the block ends."""

    def announce(
        self, ids: Sequence[str], *, kind: str | None = None, fanout_id: str | None = None
    ) -> None:
        """Record that these notifications (`kind="message"`: messages) are to be
        published, before saving them; `fanout_id`: they are a fan-out job's."""

    def saved(self, documents: Sequence["Notification | Message"]) -> None:
        """Hand over notifications or messages just saved, so they are published without
        a read."""

    def announce_change(
        self,
        change_id: str,
        *,
        user_id: str,
        kind: str,
        notification_id: str | None = None,
        up_to: str | None = None,
    ) -> None:
        """Record that `user_id`'s inbox is about to change (`app.notifications.inbox`),
        before changing it; `change_id` is one of `new_ids`, held until it is applied."""

    def announce_receipt(self, receipt_id: str, *, reader_id: str, other_id: str) -> None:
        """Record that `reader_id` is about to read what `other_id` sent them (before
        marking it read); `receipt_id` is one of `new_ids`, held until it is applied."""

    def fanout_pending(self, fanout_id: str) -> int:
        """How many of a fan-out job's notifications still wait for the broker."""

    def change_applied(self) -> None:
        """A change announced is applied: its state can be published now."""

    def pending(self, notification_ids: Iterable[str]) -> set[str]:
        """Those of `notification_ids` not yet taken by the broker."""

    def wait_until_published(self, notification_ids: Iterable[str], timeout: float) -> bool:
        """Wait until live instances published these; False if not within `timeout`."""
