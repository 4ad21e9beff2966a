"""The kernel's bitmap text formats on plain ints (lib/bitmap.c, lib/vsprintf.c).

`parselist` follows modern `bitmap_parselist` (lib/bitmap-str.c) step by step:
regions are found by skipping whitespace and commas (`bitmap_find_region`), each
region is ``START[-END][:USED/GROUP]`` or ``all[:USED/GROUP]`` where a number may
be the token ``N`` (the last bit), and `bitmap_check_region` decides
EINVAL/ERANGE.  A number that does not fit an unsigned int is EOVERFLOW.

The kernel's end-of-text rule is subtler than "a newline ends the text", and it
is kept exactly: NUL always ends it; a newline ends it only right after a plain
region (``0-3\n``).  Between regions a newline is whitespace like any other, so
``"0,\n1"`` is {0,1} and ``"0-7:1/2\n9"`` is {0,2,4,6,9}.  Whitespace is the
kernel's `isspace` on ASCII (space, \t, \n, \v, \f, \r), never Unicode's.

`parse_hex` follows `bitmap_parse`: 32-bit hex chunks read from the *end* of the
text (up to the first newline or NUL), chunks separated by commas or whitespace,
so errors come in the kernel's order (the rightmost bad chunk decides).
"""

from __future__ import annotations

import errno

__all__ = ["MaskParseError", "format_hex", "format_list", "parse_hex", "parselist"]

_UINT_MAX = (1 << 32) - 1
_SPACE = " \t\n\v\f\r"
"""The kernel's isspace() on the bytes a cpulist can hold (include/linux/ctype.h)."""
_SEPARATORS = _SPACE + ","
_HEX = "0123456789abcdefABCDEF"


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


def _region(cur: _Cursor, nbits: int | None) -> tuple[int, int, int, int, bool]:
    """bitmap_parse_region: (start, end, used, group, stop) of one region.

    *stop* is the kernel's NULL return: a plain region (no ``:used/group``)
    followed by NUL or newline ends the whole list.
    """
    region = cur.pos
    lastbit = None if nbits is None else nbits - 1
    word = cur.text[cur.pos : cur.pos + 3]
    if word.isascii() and word.lower() == "all":  # strncasecmp(str, "all", 3)
        if lastbit is None:
            raise cur.fail(errno.EINVAL, "'all' needs the mask width", region)
        start, end = 0, lastbit
        cur.pos += 3
    else:
        start = end = _getnum(cur, lastbit, region)
        if cur.end_of_region():
            return _plain(start, end, cur)
        if cur.peek() != "-":
            raise cur.fail(errno.EINVAL, "unexpected character", region)
        cur.pos += 1
        end = _getnum(cur, lastbit, region)
    if cur.end_of_region():
        return _plain(start, end, cur)
    if cur.peek() != ":":
        raise cur.fail(errno.EINVAL, "unexpected character", region)
    cur.pos += 1
    used = _getnum(cur, lastbit, region)
    if cur.peek() != "/":
        raise cur.fail(errno.EINVAL, "expected '/' in stride", region)
    cur.pos += 1
    group = _getnum(cur, lastbit, region)
    return start, end, used, group, False


def _plain(start: int, end: int, cur: _Cursor) -> tuple[int, int, int, int, bool]:
    """A region without ``:used/group``: off = group_len = end + 1 as an unsigned int.

    The wrap is the kernel's: ``4294967295`` gives group_len 0 and so EINVAL
    (before any ERANGE check), not ERANGE.
    """
    group = (end + 1) & _UINT_MAX
    return start, end, group, group, cur.end_of_str()


def parselist(text: str, nbits: int | None = None) -> int:
    """bitmap_parselist: the bits named by a cpulist, as an int.

    *nbits* None means "no width": no ERANGE, and ``N`` / ``all`` are EINVAL.
    """
    cur = _Cursor(text)
    bits = 0
    while True:
        # bitmap_find_region: skip commas and isspace() (newline included).
        while cur.pos < len(cur.text) and cur.peek() in _SEPARATORS:
            cur.pos += 1
        if cur.peek() == "\0" or cur.pos >= len(cur.text):
            return bits
        region = cur.pos
        start, end, used, group, stop = _region(cur, nbits)
        if start > end or group == 0 or used > group:
            raise cur.fail(errno.EINVAL, "invalid range", region)
        if nbits is not None and end >= nbits:
            raise cur.fail(errno.ERANGE, f"bit beyond the mask width {nbits}", region)
        bits |= _stride(start, end, used, group)
        if stop:
            return bits


def _stride(start: int, end: int, used: int, group: int) -> int:
    """bitmap_set_region: *used* bits of every *group* from start to end.

    Built by doubling one group's pattern, so ``0-4095:1/2`` costs a dozen
    big-int operations rather than two thousand.
    """
    if used >= group:
        return ((1 << (end - start + 1)) - 1) << start
    span = end - start + 1
    pattern, width = (1 << used) - 1, group
    while width < span:
        pattern |= pattern << width
        width *= 2
    return (pattern & ((1 << span) - 1)) << start


def parse_hex(text: str, nbits: int | None = None) -> int:
    """bitmap_parse: comma- or space-separated 32-bit hex chunks, most significant first.

    Chunks are read from the end, as the kernel does, so with several faults the
    rightmost decides the errno: a chunk of more than 8 digits or more chunks than
    *nbits* holds is EOVERFLOW, a non-hex character EINVAL.  *nbits* None: no limit.
    """
    body = text
    for stop in "\n\0":
        body = body.split(stop, 1)[0]
    chunks = None if nbits is None else (nbits + 31) // 32
    bits, shift, end = 0, 0, len(body) - 1
    while True:
        while end >= 0 and body[end] in _SEPARATORS:  # bitmap_find_region_reverse
            end -= 1
        if end < 0:
            break
        if chunks is not None:
            if chunks == 0:
                raise MaskParseError(
                    errno.EOVERFLOW, f"hex mask {text!r} is wider than {nbits} bits"
                )
            chunks -= 1
        value, end = _x32_reverse(text, body, end)
        bits |= value << shift
        shift += 32
    if nbits is not None and bits >> nbits:
        raise MaskParseError(errno.EOVERFLOW, f"hex mask {text!r} sets bits beyond {nbits}")
    return bits


def _x32_reverse(text: str, body: str, end: int) -> tuple[int, int]:
    """bitmap_get_x32_reverse: one chunk of up to 8 hex digits ending at *end*.

    Kernel quirk kept on purpose: after 8 digits the next character back is
    only tested for being a hex digit (EOVERFLOW); any other character there is
    skipped unread, so ``"x0000000f"`` parses as 0xf.
    """
    value = 0
    for i in range(0, 32, 4):
        c = body[end]
        if c not in _HEX:
            raise MaskParseError(errno.EINVAL, f"bad hex digit {c!r} in mask {text!r}")
        value |= int(c, 16) << i
        end -= 1
        if end < 0 or body[end] in _SEPARATORS:
            return value, end
    if body[end] in _HEX:
        raise MaskParseError(errno.EOVERFLOW, f"hex chunk wider than 32 bits in mask {text!r}")
    return value, end - 1


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
