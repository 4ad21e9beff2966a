"""Virtual time and the canonical order of deliveries.

Time is an int count of nanoseconds owned by the run; nothing here reads a
wall clock.  Pending deliveries wait in a `Timeline`:

* ``current``: everything due *now*, sent during the running delta; it becomes
  the next delta at the same instant;
* ``future``: a bucket per later instant, plus a heap of the instants.

A delta takes one whole bucket and sorts it by an *entry*, a tuple whose head
is the canonical key::

    (tiebreak(salt(seed, sender), t_ns), sender, sender's send counter, ...)

The tie-break is a seeded 64-bit mix of the sender and the delivery instant:
for one seed it is fixed, so the order never depends on trio's scheduler;
another seed gives another order of simultaneous senders (that is how stress
runs explore interleavings).  All messages of one sender due at one instant
share the key and fall back to the send counter, so a sender's messages stay
in the order it sent them (per-sender FIFO).  Entries never tie beyond the
counter, so sorting never compares the payload fields.
"""

from __future__ import annotations

import hashlib
import heapq

__all__ = [
    "ASK",
    "GOLDEN",
    "KIND_NAMES",
    "MASK64",
    "REPLY",
    "START",
    "TELL",
    "TIMER",
    "Timeline",
    "actor_salt",
    "tiebreak",
]

# Delivery kinds, and the entry layout:
#   (key, sender name, sender counter, kind, receiver state, corr, payload bytes | None, tag)
# corr is the ask id for "ask" and "reply", the timer id for "timer", else 0.
START, TELL, ASK, REPLY, TIMER = range(5)
KIND_NAMES = ("start", "tell", "ask", "reply", "timer")

GOLDEN = 0x9E3779B97F4A7C15
"""2**64 / phi: spreads consecutive instants over the 64-bit key space."""

MASK64 = (1 << 64) - 1


def actor_salt(seed: int | str, name: str) -> int:
    """A stable 64-bit secret per (run seed, actor): independent of PYTHONHASHSEED."""
    digest = hashlib.blake2b(f"{seed}:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def tiebreak(salt: int, t_ns: int) -> int:
    """The seeded order key of one sender's deliveries at instant *t_ns*."""
    return ((t_ns * GOLDEN) ^ salt) & MASK64


class Timeline:
    """Pending deliveries by instant (see the module docstring)."""

    __slots__ = ("current", "future", "now", "times")

    def __init__(self) -> None:
        self.now = 0
        self.current: list[tuple[object, ...]] = []
        self.future: dict[int, list[tuple[object, ...]]] = {}
        self.times: list[int] = []

    def push(self, t_ns: int, entry: tuple[object, ...]) -> None:
        """Queue *entry* for instant *t_ns* (``now`` means the next delta)."""
        if t_ns == self.now:
            self.current.append(entry)
            return
        bucket = self.future.get(t_ns)
        if bucket is None:
            self.future[t_ns] = [entry]
            heapq.heappush(self.times, t_ns)
        else:
            bucket.append(entry)

    def next_instant(self) -> int | None:
        """When the next delta happens, or None if nothing is pending."""
        if self.current:
            return self.now
        return self.times[0] if self.times else None

    def take(self) -> list[tuple[object, ...]]:
        """Remove and return the next delta's entries, sorted; advance ``now`` to its instant."""
        if self.current:
            batch = self.current
            self.current = []
        else:
            self.now = heapq.heappop(self.times)
            batch = self.future.pop(self.now)
        batch.sort()
        return batch

    def __len__(self) -> int:
        return len(self.current) + sum(len(bucket) for bucket in self.future.values())
