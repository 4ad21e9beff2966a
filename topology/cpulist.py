"""The kernel's bitmap text formats on plain ints (lib/bitmap.c, lib/vsprintf.c).

`parselist` follows modern `bitmap_parselist` step by step: regions are found by
skipping whitespace and commas (`bitmap_find_region`), each region is
``START[-END][:USED/GROUP]`` or ``all[:USED/GROUP]`` where a number may be the
token ``N`` (the last bit), and `bitmap_check_region` decides EINVAL/ERANGE.
A number that does not fit an unsigned int is EOVERFLOW.  A newline ends the
text.  `parse_hex` follows `bitmap_parse` (32-bit hex words read from the end).
"""

from __future__ import annotations

import errno

__all__ = ["MaskParseError", "format_hex", "format_list", "parse_hex", "parselist"]

_UINT_MAX = (1 << 32) - 1
_SPACE = " \t\n\v\f\r"


class MaskParseError(ValueError):
    """A cpulist or hex mask the kernel would refuse; `.errno` is the kernel's errno."""

    def __init__(self, err: int, message: str) -> None:
        super().__init__(message)
        self.errno = err


class _Cursor:
    """Position in the text being parsed, with the kernel's character classes."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else "\0"

    def end_of_str(self) -> bool:
        return self.peek() in "\0\n"

    def end_of_region(self) -> bool:
        c = self.peek()
        return c in "\0\n," or c in _SPACE

    def fail(self, err: int, what: str, start: int) -> MaskParseError:
        bad = self.text[start : self.pos + 1] or self.text
        return MaskParseError(err, f"{what} in cpulist {self.text!r} at {bad!r}")


def _getnum(cur: _Cursor, lastbit: int | None, region: int) -> int:
    """bitmap_getnum: a decimal number or ``N``."""
    if cur.peek() == "N":
        if lastbit is None:
            raise cur.fail(errno.EINVAL, "'N' needs the mask width", region)
        cur.pos += 1
        return lastbit
    start = cur.pos
    while cur.peek().isascii() and cur.peek().isdigit():
        cur.pos += 1
    if cur.pos == start:
        raise cur.fail(errno.EINVAL, "expected a number", region)
    value = int(cur.text[start : cur.pos])
    if value > _UINT_MAX:
        raise cur.fail(errno.EOVERFLOW, "number too large", region)
    return value


def _region(cur: _Cursor, nbits: int | None) -> tuple[int, int, int, int]:
    """bitmap_parse_region: (start, end, used, group) of one region."""
    region = cur.pos
    lastbit = None if nbits is None else nbits - 1
    if cur.text[cur.pos : cur.pos + 3].lower() == "all":
        if lastbit is None:
            raise cur.fail(errno.EINVAL, "'all' needs the mask width", region)
        start, end = 0, lastbit
        cur.pos += 3
    else:
        start = end = _getnum(cur, lastbit, region)
        if cur.end_of_region():
            return start, end, end + 1, end + 1
        if cur.peek() != "-":
            raise cur.fail(errno.EINVAL, "unexpected character", region)
        cur.pos += 1
        end = _getnum(cur, lastbit, region)
    if cur.end_of_region():
        return start, end, end + 1, end + 1
    if cur.peek() != ":":
        raise cur.fail(errno.EINVAL, "unexpected character", region)
    cur.pos += 1
    used = _getnum(cur, lastbit, region)
    if cur.peek() != "/":
        raise cur.fail(errno.EINVAL, "expected '/' in stride", region)
    cur.pos += 1
    group = _getnum(cur, lastbit, region)
    return start, end, used, group


def parselist(text: str, nbits: int | None = None) -> int:
    """bitmap_parselist: the bits named by a cpulist, as an int."""
    cur = _Cursor(text)
    bits = 0
    while True:
        while not cur.end_of_str() and cur.end_of_region():
            cur.pos += 1
        if cur.end_of_str():
            return bits
        region = cur.pos
        start, end, used, group = _region(cur, nbits)
        if start > end or group == 0 or used > group:
            raise cur.fail(errno.EINVAL, "invalid range", region)
        if nbits is not None and end >= nbits:
            raise cur.fail(errno.ERANGE, f"bit beyond the mask width {nbits}", region)
        bits |= _stride(start, end, used, group)


def _stride(start: int, end: int, used: int, group: int) -> int:
    """bitmap_set_region: *used* bits of every *group* from start to end."""
    if used >= group:
        return ((1 << (end - start + 1)) - 1) << start
    unit = (1 << used) - 1
    bits = 0
    for base in range(start, end + 1, group):
        width = min(end - base + 1, used)
        bits |= (unit if width == used else (1 << width) - 1) << base
    return bits


def parse_hex(text: str, nbits: int | None = None) -> int:
    """bitmap_parse: comma-separated 32-bit hex words, most significant first."""
    body = text.split("\n", 1)[0]
    words = [w for w in body.replace(",", " ").split() if w]
    if nbits is not None and len(words) > (nbits + 31) // 32:
        raise MaskParseError(errno.EOVERFLOW, f"hex mask {text!r} has more words than {nbits} bits")
    bits = 0
    for word in words:
        if any(c not in "0123456789abcdefABCDEF" for c in word):
            raise MaskParseError(errno.EINVAL, f"bad hex digit in mask {text!r} at {word!r}")
        if len(word) > 8:
            raise MaskParseError(errno.EOVERFLOW, f"hex word {word!r} wider than 32 bits")
        bits = (bits << 32) | int(word, 16)
    if nbits is not None and bits >> nbits:
        raise MaskParseError(errno.EOVERFLOW, f"hex mask {text!r} sets bits beyond {nbits}")
    return bits


def format_list(bits: int) -> str:
    """bitmap_print_to_pagebuf(list=true): ``0-3,8,10-11``; empty mask is ``""``."""
    parts: list[str] = []
    pos = 0
    while bits:
        low = (bits & -bits).bit_length() - 1
        bits >>= low
        pos += low
        run = (~bits & (bits + 1)).bit_length() - 1
        parts.append(str(pos) if run == 1 else f"{pos}-{pos + run - 1}")
        bits >>= run
        pos += run
    return ",".join(parts)


def format_hex(bits: int, nbits: int | None = None) -> str:
    """``%*pb``: 32-bit words, most significant first; the first is as wide as its bits."""
    if nbits is None:
        nbits = max(32, (bits.bit_length() + 31) // 32 * 32)
    if bits >> nbits:
        raise ValueError(f"mask has bits beyond the width {nbits}")
    first = nbits % 32 or 32
    words: list[str] = []
    shift = (nbits + 31) // 32 * 32 - 32
    width = (first + 3) // 4
    while shift >= 0:
        words.append(format((bits >> shift) & 0xFFFFFFFF, f"0{width}x"))
        width = 8
        shift -= 32
    return ",".join(words)
