"""How the cpuset files read numbers, era by era (lib/kstrtox.c, lib/vsprintf.c, lib/bitmap.c).

* ``simple_strtoul(buf, NULL, 10)`` (2.6.14 and 2.6.24 flag files): reads
  leading decimal digits and ignores the rest, so ``A`` and ``-1`` are 0.
* ``kstrtoull`` / ``kstrtoll`` / ``kstrtoint`` with base 0 (cgroup
  ``write_u64`` / ``write_s64`` / ``cgroup.procs``, modern): the whole text must
  be a number (``0x`` hex and ``0`` octal prefixes, one optional trailing
  newline); anything else is EINVAL, out of range ERANGE.
* ``sscanf(buf, "%d")`` (2.6.x ``tasks``): leading blanks, a sign, digits;
  no digits is a failed conversion (the caller's EIO).
* the 2.6.x ``bitmap_parselist``: ``N`` or ``N-M`` regions separated by
  commas, no blanks or strides, ended by NUL or newline; an empty text is
  EINVAL because the first character must be a digit.
"""

from __future__ import annotations

import errno
import re

from cpuset.tree import CpusetError
from topology import CpuMask

__all__ = [
    "bitmap_parselist_legacy",
    "kstrtoint",
    "kstrtoll",
    "kstrtoull",
    "simple_strtoul",
    "sscanf_int",
]

_U64_MAX = (1 << 64) - 1
_S64_MAX = (1 << 63) - 1
_S32_MAX = (1 << 31) - 1
_BASE0 = re.compile(r"(?:0[xX](?P<hex>[0-9a-fA-F]+)|(?P<oct>0[0-7]*)|(?P<dec>[1-9][0-9]*))")


def simple_strtoul(text: str) -> int:
    """simple_strtoul(text, NULL, 10): the leading decimal digits, 0 if none."""
    match = re.match(r"[0-9]+", text)
    return int(match.group()) if match else 0


def _kstrto_body(text: str) -> str:
    """_kstrtoull accepts exactly one trailing newline after the digits."""
    return text[:-1] if text.endswith("\n") else text


def _base0(body: str, what: str) -> int:
    match = _BASE0.fullmatch(body)
    if match is None:
        raise CpusetError(errno.EINVAL, f"{what}: {body!r} is not a number")
    if match.group("hex") is not None:
        return int(match.group("hex"), 16)
    if match.group("oct") is not None:
        return int(match.group("oct"), 8)
    return int(match.group("dec"))


def kstrtoull(text: str, what: str = "value") -> int:
    """kstrtoull(text, 0): an unsigned 64-bit number, optional leading '+'."""
    body = _kstrto_body(text)
    if body.startswith("+"):
        body = body[1:]
    value = _base0(body, what)
    if value > _U64_MAX:
        raise CpusetError(errno.ERANGE, f"{what}: {body!r} is out of range")
    return value


def kstrtoll(text: str, what: str = "value") -> int:
    """kstrtoll(text, 0): a signed 64-bit number."""
    body = _kstrto_body(text)
    sign = -1 if body.startswith("-") else 1
    if body[:1] in "+-" and body:
        body = body[1:]
    value = _base0(body, what)
    if value > _S64_MAX + (1 if sign < 0 else 0):
        raise CpusetError(errno.ERANGE, f"{what}: {text.strip()!r} is out of range")
    return sign * value


def kstrtoint(text: str, what: str = "value") -> int:
    """kstrtoint(text, 0): a signed 32-bit number."""
    value = kstrtoll(text, what)
    if not -_S32_MAX - 1 <= value <= _S32_MAX:
        raise CpusetError(errno.ERANGE, f"{what}: {text.strip()!r} is out of range")
    return value


def sscanf_int(text: str) -> int | None:
    """sscanf(text, "%d"): None when no number can be converted."""
    match = re.match(r"\s*([+-]?[0-9]+)", text)
    return int(match.group(1)) if match else None


def bitmap_parselist_legacy(text: str, nmaskbits: int) -> CpuMask:
    """The 2.6.x bitmap_parselist: ``a`` or ``a-b`` regions, commas, NUL/newline end."""
    bits = 0
    pos = 0

    def number() -> int:
        nonlocal pos
        match = re.match(r"[0-9]+", text[pos:])
        if match is None:
            raise CpusetError(errno.EINVAL, f"invalid cpulist {text.strip()!r}")
        pos += match.end()
        return int(match.group())

    while True:
        a = b = number()
        if text[pos : pos + 1] == "-":
            pos += 1
            b = number()
        if a > b:
            raise CpusetError(errno.EINVAL, f"invalid range {a}-{b} in {text.strip()!r}")
        if b >= nmaskbits:
            raise CpusetError(errno.ERANGE, f"{b} is beyond NR_CPUS/MAX_NUMNODES={nmaskbits}")
        bits |= ((1 << (b - a + 1)) - 1) << a
        if text[pos : pos + 1] == ",":
            pos += 1
        if pos >= len(text) or text[pos] in "\0\n":
            return CpuMask(bits)
