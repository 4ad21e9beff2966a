"""Reading a TOML scenario with line numbers: where each key is, typed getters, durations.

`tomllib` reports no positions, so `locate` scans the text once, line by line,
and records the line of every table header and ``key =`` (the keys of an
inline table on that line too) under its key path, e.g. ``("tasks", 2,
"cpus")`` for ``cpus`` in the third ``[[tasks]]``.  String contents are
blanked before the line is matched, so the lines of a multi-line string (a
``shell`` script full of ``x = y``) are never taken for keys, and a line inside
a multi-line array or string is no key at all.  An error is reported at the
line of its key, else of the nearest enclosing table that has one, else line 1.

`Table` wraps one parsed table: it refuses unknown keys when it is made (so
typos never pass) and its getters check types and raise `ScenarioError` at
the key's line.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar

from topology import CpuMask, MaskParseError

__all__ = [
    "Key",
    "Locator",
    "ScenarioError",
    "Table",
    "Where",
    "locate",
    "nesting_error",
    "parse_duration",
    "syntax_error",
]

T = TypeVar("T")
Key = tuple[str | int, ...]
"""A key path in the parsed document: table names, array indexes, key names."""


class ScenarioError(ValueError):
    """A scenario the simulator cannot run; ``str(e)`` is ``FILE:LINE: message``."""

    def __init__(self, path: str, line: int, message: str) -> None:
        super().__init__(f"{path}:{line}: {message}")
        self.path = path
        self.line = line
        self.message = message


def syntax_error(path: str, text: str, message: str) -> ScenarioError:
    """``FILE:N: msg`` from tomllib's ``msg (at line N, column M)``."""
    at = re.search(r" \(at line (\d+), column (\d+)\)$", message)
    if at is not None:
        return ScenarioError(path, int(at[1]), f"{message[: at.start()]} (column {at[2]})")
    end = message.removesuffix(" (at end of document)")
    return ScenarioError(path, max(1, len(text.splitlines())), f"{end} (at end of file)")


def nesting_error(path: str, text: str) -> ScenarioError:
    """tomllib ran out of stack (RecursionError): ``FILE:N`` at the line nested deepest."""
    deepest, line, depth, quote = 0, 1, 0, None
    for n, raw in enumerate(text.splitlines(), start=1):
        code, quote, _ = _blank_strings(raw, quote)
        for char in code:
            depth += 1 if char in "[{" else -1 if char in "]}" else 0
            if depth > deepest:
                deepest, line = depth, n
    return ScenarioError(path, line, f"arrays or tables nested too deeply ({deepest} levels)")


# -- durations -----------------------------------------------------------------

_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*(ns|us|ms|s)?", re.ASCII)
_UNIT_NS = {"ns": 1, "us": 1_000, "ms": 1_000_000, "s": 1_000_000_000}


def parse_duration(value: object, where: str = "duration") -> int:
    """Nanoseconds of ``"1.5s"``, ``"200ms"``, ``"100us"``, ``"5000ns"`` or a bare number of ms.

    The bare number may be a TOML number or a string (``"300"``: a command-line
    argument is always a string).  Digits are ASCII only.  ValueError names
    *where* (the key being read) when *value* is none of these.
    """
    amount: Decimal | None = None
    unit = "ms"
    if isinstance(value, str):
        match = _DURATION.fullmatch(value.strip())
        if match is not None:
            amount, unit = Decimal(match[1]), match[2] or "ms"
    elif isinstance(value, int | float) and not isinstance(value, bool):
        amount = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if amount is None or not amount.is_finite() or amount < 0:
        raise ValueError(
            f"{where} must be a duration like '1.5s', '200ms', '100us', '5000ns' "
            f"or a number of ms, not {value!r}"
        )
    ns = amount * _UNIT_NS[unit]
    if ns != ns.to_integral_value():
        raise ValueError(f"{where} {value!r} is not a whole number of ns")
    return int(ns)


# -- the locator -----------------------------------------------------------------

# SIMPLIFIED: quoted keys and table names ("a.b" = 1) are not located; an error about
# one is reported at the line of its table.
_HEADER = re.compile(r"\s*(\[\[?)\s*([A-Za-z0-9_. -]+?)\s*\]")
_KEY = re.compile(r"\s*([A-Za-z0-9_-]+(?:\s*\.\s*[A-Za-z0-9_-]+)*)\s*=")
_INLINE_KEY = re.compile(r"[{,]\s*([A-Za-z0-9_-]+)\s*=")


def _blank_strings(line: str, quote: str | None) -> tuple[str, str | None, int]:
    """*line* with string contents blanked and its comment cut, given the string open at its start.

    Returns the code, the multi-line string still open at the end, and the
    column where the code ends (for the comment-free text of a line).
    """
    out: list[str] = []
    i = 0
    while i < len(line):
        if quote is None:
            if line[i] == "#":
                return "".join(out), None, i
            quote = next((q for q in ('"""', "'''", '"', "'") if line.startswith(q, i)), None)
            out.append('""' if quote else line[i])
            i += len(quote) if quote else 1
        elif quote[0] == '"' and line[i] == "\\":
            i += 2
        elif line.startswith(quote, i):
            run = len(line[i:]) - len(line[i:].lstrip(quote[0]))
            i += min(run, 5) if len(quote) == 3 else 1  # """a"""" ends with content '"'
            quote = None
        else:
            i += 1
    return "".join(out), quote if quote and len(quote) == 3 else None, len(line)


@dataclass(frozen=True, slots=True)
class Locator:
    """Where the keys of one TOML text are: `locate`'s result."""

    lines: dict[Key, int]
    code: tuple[str, ...]
    """each line without its comment, stripped"""

    def line_of(self, key: Key) -> int:
        for end in range(len(key), 0, -1):
            line = self.lines.get(key[:end])
            if line is not None:
                return line
        return 1


def locate(text: str) -> Locator:
    """The line of every table header and key in *text* (see the module docstring)."""
    lines: dict[Key, int] = {}
    code_lines: list[str] = []
    arrays: dict[Key, int] = {}
    table: Key = ()
    quote: str | None = None
    depth = 0
    for n, raw in enumerate(text.splitlines(), start=1):
        in_value = depth > 0  # inside a multi-line array: no keys, no headers
        code, quote, end = _blank_strings(raw, quote)
        code_lines.append(raw[:end].strip())
        header = _HEADER.match(code)
        if not in_value and header is not None:
            parts = [part.strip() for part in header[2].split(".")]
            table = (*_resolve(parts[:-1], arrays), parts[-1])
            if header[1] == "[[":
                arrays[table] = arrays.get(table, 0) + 1
                table = (*table, arrays[table] - 1)
            else:
                table = _resolve(parts, arrays)
            lines.setdefault(table, n)
        elif not in_value and (key := _KEY.match(code)) is not None:
            path = (*table, *(part.strip() for part in key[1].split(".")))
            lines.setdefault(path, n)
            for inner in _INLINE_KEY.finditer(code, key.end()):
                lines.setdefault((*path, inner[1]), n)
        opened = code.count("[") + code.count("{")
        depth = max(0, depth + opened - code.count("]") - code.count("}"))
    return Locator(lines, tuple(code_lines))


def _resolve(parts: list[str], arrays: Mapping[Key, int]) -> Key:
    """The key path of a dotted table name, the latest element of each array on the way."""
    path: Key = ()
    for part in parts:
        path = (*path, part)
        if path in arrays:
            path = (*path, arrays[path] - 1)
    return path


# -- reading tables ----------------------------------------------------------------


class Table:
    """One table of the document being read: typed getters; unknown keys refused up front."""

    def __init__(
        self, where: Where, key: Key, data: object, title: str, known: tuple[str, ...]
    ) -> None:
        self.where, self.key, self.title = where, key, title
        if not isinstance(data, dict):
            raise where.error(key, f"{title} must be a table, not {data!r}")
        self.data: dict[str, object] = data
        for name in data:
            if name not in known:
                listed = ", ".join(sorted(known))
                raise self.error(name, f"unknown key {name!r} in {title} (known: {listed})")

    def error(self, name: str | None, message: str) -> ScenarioError:
        return self.where.error(self.key if name is None else (*self.key, name), message)

    def line(self, name: str | None = None) -> int:
        return self.where.locator.line_of(self.key if name is None else (*self.key, name))

    def get(self, name: str, kind: type[T], what: str) -> T | None:
        value = self.data.get(name)
        if value is None:
            return None
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise self.error(name, f"{name} must be {what}, not {value!r}")
        return value

    def need(self, name: str, kind: type[T], what: str) -> T:
        value = self.get(name, kind, what)
        if value is None:
            raise self.error(None, f"{self.title} needs {name} ({what})")
        return value

    def integer(self, name: str, default: int, minimum: int | None = None) -> int:
        value = self.get(name, int, "an integer")
        if value is not None and minimum is not None and value < minimum:
            raise self.error(name, f"{name} must be >= {minimum}, not {value}")
        return default if value is None else value

    def number(self, name: str) -> float:
        value = self.need(name, object, "a number")
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise self.error(name, f"{name} must be a number, not {value!r}")
        return value

    def flag(self, name: str, default: bool) -> bool:
        value = self.get(name, bool, "true or false")
        return default if value is None else value

    def text(self, name: str, default: str) -> str:
        value = self.get(name, str, "a string")
        return default if value is None else value

    def choice(self, name: str, default: str | None, known: tuple[str, ...]) -> str:
        """A string out of *known*; *default* None: required."""
        value = self.need(name, str, "a string") if default is None else self.text(name, default)
        if value not in known:
            listed = ", ".join(repr(k) for k in known)
            raise self.error(name, f"unknown {name} {value!r} (known: {listed})")
        return value

    def duration(self, name: str, default: int) -> int:
        if name not in self.data:
            return default
        try:
            return parse_duration(self.data[name], name)
        except ValueError as exc:
            raise self.error(name, str(exc)) from None

    def ms(self, name: str, default: int) -> int:
        ns = self.duration(name, default * 1_000_000)
        if ns % 1_000_000:
            raise self.error(name, f"{name} must be a whole number of ms, not {self.data[name]!r}")
        return ns // 1_000_000

    def mask(self, name: str) -> CpuMask | None:
        value = self.get(name, str, "a cpulist string like '0-3,8'")
        try:
            return None if value is None else CpuMask.parse(value)
        except MaskParseError as exc:
            raise self.error(name, f"bad {name}: {exc}") from None

    def table(self, name: str, title: str, known: tuple[str, ...]) -> Table:
        return Table(self.where, (*self.key, name), self.data.get(name, {}), title, known)


@dataclass(frozen=True, slots=True)
class Where:
    """The file being read and its locator: makes errors at a key's line."""

    path: str
    locator: Locator

    def error(self, key: Key, message: str) -> ScenarioError:
        return ScenarioError(self.path, self.locator.line_of(key), message)
