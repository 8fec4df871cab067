"""What a reconnecting socket missed: what was published after its `since`, oldest first.

Notifications and messages are resumed the same way. Those still waiting in
the outbox are left out: they arrive live, in id order, and sending one early
would let the client's `since` pass an older one that is still being saved.
But one of them may be on the broker already, delivered before the client's
socket existed and only its outbox entry not yet deleted; so up to
`publish_wait` seconds are given to the relay to finish those, and the ones it
finished are included.
"""

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # a leaf: the domains that use it import it, not the other way
    from app.notifications.ports import Outbox


def published_after(
    newest: Callable[[], Sequence], *, limit: int, outbox: "Outbox", publish_wait: float
):
    """`(documents, truncated)`: of `newest()` (the newest `limit + 1` documents after
    `since`, newest first) those published, oldest first; when more than `limit`
    were missed, the newest `limit`, since a client shows the latest first."""
    published, waiting = _split(newest(), outbox)
    if waiting and publish_wait > 0:
        outbox.wait_until_published(waiting, publish_wait)
        published, _ = _split(newest(), outbox)
    return published[:limit][::-1], len(published) > limit


def _split(documents, outbox: "Outbox"):
    waiting = outbox.pending(d.id for d in documents)
    return [d for d in documents if d.id not in waiting], waiting
