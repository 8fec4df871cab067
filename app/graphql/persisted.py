"""Automatic persisted queries, as Apollo's clients speak them: a client sends the
SHA-256 of its document (`extensions.persistedQuery.sha256Hash`) instead of the
document; the first time, the answer is `PersistedQueryNotFound` and the client
sends both, which this instance then remembers.

Each instance keeps the GRAPHQL_PERSISTED_QUERIES most recently used documents
in memory (a miss only costs the client one round trip more), so a large or
hostile client cannot grow it.
"""

import hashlib
import threading
from collections import OrderedDict
from dataclasses import replace

NOT_FOUND = "PersistedQueryNotFound"


class PersistedQueryError(Exception):
    """Answered as a GraphQL error, with Apollo's message."""


class PersistedQueries:
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._documents: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def resolve(self, data):
        """`data` (strawberry's request data) with its document, remembered or looked up."""
        persisted = (data.extensions or {}).get("persistedQuery")
        if not isinstance(persisted, dict) or not self.capacity:
            return data
        digest = persisted.get("sha256Hash")
        if persisted.get("version", 1) != 1 or not isinstance(digest, str):
            raise PersistedQueryError("PersistedQueryNotSupported")
        if data.query is not None:
            if hashlib.sha256(data.query.encode()).hexdigest() != digest.lower():
                raise PersistedQueryError("provided sha does not match query")
            self._remember(digest.lower(), data.query)
            return data
        with self._lock:
            query = self._documents.get(digest.lower())
            if query is not None:
                self._documents.move_to_end(digest.lower())
        if query is None:
            raise PersistedQueryError(NOT_FOUND)
        return replace(data, query=query)

    def _remember(self, digest, query):
        with self._lock:
            self._documents[digest] = query
            self._documents.move_to_end(digest)
            while len(self._documents) > self.capacity:
                self._documents.popitem(last=False)
