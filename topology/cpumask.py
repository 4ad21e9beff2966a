"""CPU and node masks (include/linux/cpumask.h, include/linux/nodemask.h, lib/bitmap.c).

A `CpuMask` is an immutable set of small non-negative integers backed by one
Python int, so that set operations on 4096-CPU masks are a handful of machine
words.  The same type serves as a node mask (`NodeMask`).

Text forms follow the kernel exactly:

* cpulist (``%*pbl``, ``/sys/.../cpulist``, cpuset ``cpus``):  ``0-3,8,10-11``;
  parsed with the full `bitmap_parselist` grammar (stride form ``0-31:4/8``,
  the ``N`` token for the last bit, ``all``, whitespace and commas as region
  separators, a trailing newline).
* hex (``%*pb``, 2.6.x ``cpumask_scnprintf``): comma-separated 32-bit words,
  most significant first, the first word as wide as its bits need.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from topology.cpulist import MaskParseError, format_hex, format_list, parse_hex, parselist

__all__ = ["CpuMask", "MaskParseError", "NodeMask"]


def _set_bits(bits: int) -> Iterator[int]:
    """Ascending positions of the set bits of *bits* (O(width), not O(weight x width))."""
    if bits.bit_count() <= 64:
        while bits:
            low = bits & -bits
            yield low.bit_length() - 1
            bits ^= low
        return
    text = bin(bits)
    top = len(text) - 3
    for i in range(top, -1, -1):
        if text[i + 2] == "1":
            yield top - i


class CpuMask:
    """An immutable set of CPU (or node) numbers.

    Set operators ``| & - ^``, ``in``, ``<=`` (subset), ascending iteration,
    ``len`` = weight.  Equal masks are equal and hash alike, whatever their origin.
    """

    __slots__ = ("bits",)
    bits: int

    def __init__(self, bits: int = 0) -> None:
        if bits < 0:
            raise ValueError("a mask cannot hold negative bits")
        object.__setattr__(self, "bits", bits)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("CpuMask is immutable")

    # -- construction -------------------------------------------------------

    @classmethod
    def of(cls, cpus: Iterable[int]) -> CpuMask:
        """The mask holding exactly *cpus*."""
        bits = 0
        for cpu in cpus:
            if cpu < 0:
                raise ValueError(f"negative CPU number {cpu}")
            bits |= 1 << cpu
        return cls(bits)

    @classmethod
    def span(cls, first: int, last: int) -> CpuMask:
        """The mask of first..last inclusive (empty if last < first)."""
        if last < first:
            return cls(0)
        return cls(((1 << (last - first + 1)) - 1) << first)

    @classmethod
    def parse(cls, text: str, nbits: int | None = None) -> CpuMask:
        """Parse a cpulist exactly as `bitmap_parselist` (lib/bitmap.c) does.

        *nbits* is the mask width (nr_cpu_ids / MAX_NUMNODES): bits at or above it
        give ERANGE, and ``N`` / ``all`` need it.
        """
        return cls(parselist(text, nbits))

    @classmethod
    def parse_hex(cls, text: str, nbits: int | None = None) -> CpuMask:
        """Parse the ``%*pb`` form (comma-separated 32-bit hex words) as `bitmap_parse`."""
        return cls(parse_hex(text, nbits))

    # -- queries ------------------------------------------------------------

    def __len__(self) -> int:
        return self.bits.bit_count()

    def __bool__(self) -> bool:
        return self.bits != 0

    def __iter__(self) -> Iterator[int]:
        return _set_bits(self.bits)

    def __contains__(self, cpu: object) -> bool:
        return isinstance(cpu, int) and cpu >= 0 and (self.bits >> cpu) & 1 == 1

    def first(self) -> int:
        """The lowest set bit (cpumask_first); ValueError if empty."""
        if not self.bits:
            raise ValueError("first() of an empty mask")
        return (self.bits & -self.bits).bit_length() - 1

    def last(self) -> int:
        """The highest set bit; ValueError if empty."""
        if not self.bits:
            raise ValueError("last() of an empty mask")
        return self.bits.bit_length() - 1

    def nth(self, k: int) -> int:
        """Position of the k-th (0-based) set bit (bitmap_ord_to_pos)."""
        if not 0 <= k < len(self):
            raise IndexError(f"mask {self} has no bit number {k}")
        bits = self.bits
        for _ in range(k):
            bits &= bits - 1
        return (bits & -bits).bit_length() - 1

    def ord(self, bit: int) -> int:
        """Number of set bits below *bit* (bitmap_pos_to_ord); *bit* must be set."""
        if bit not in self:
            raise ValueError(f"bit {bit} is not in mask {self}")
        return (self.bits & ((1 << bit) - 1)).bit_count()

    def hex(self, nbits: int | None = None) -> str:
        """The ``%*pb`` text: 32-bit words, most significant first."""
        return format_hex(self.bits, nbits)

    # -- set algebra --------------------------------------------------------

    def __or__(self, other: CpuMask) -> CpuMask:
        return CpuMask(self.bits | other.bits)

    def __and__(self, other: CpuMask) -> CpuMask:
        return CpuMask(self.bits & other.bits)

    def __sub__(self, other: CpuMask) -> CpuMask:
        return CpuMask(self.bits & ~other.bits)

    def __xor__(self, other: CpuMask) -> CpuMask:
        return CpuMask(self.bits ^ other.bits)

    def __le__(self, other: CpuMask) -> bool:
        return self.bits & ~other.bits == 0

    def __ge__(self, other: CpuMask) -> bool:
        return other.bits & ~self.bits == 0

    def __lt__(self, other: CpuMask) -> bool:
        return self <= other and self.bits != other.bits

    def __gt__(self, other: CpuMask) -> bool:
        return self >= other and self.bits != other.bits

    def intersects(self, other: CpuMask) -> bool:
        return self.bits & other.bits != 0

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CpuMask) and other.bits == self.bits

    def __hash__(self) -> int:
        return hash(self.bits)

    def __str__(self) -> str:
        return format_list(self.bits)

    def __repr__(self) -> str:
        return f"CpuMask({str(self)!r})"

    def __reduce__(self) -> tuple[type[CpuMask], tuple[int]]:
        return (CpuMask, (self.bits,))


NodeMask = CpuMask
"""Node masks are the same value type (nodemask_t is a bitmap too)."""
