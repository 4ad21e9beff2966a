"""The bus protocol: every message type, registered under a stable tag (the protocol on one page).

A message is a frozen, keyword-only, slotted dataclass (STYLE.md rule 1) whose
docstring says who sends it to whom.  Fields hold msgpack-native values
(int, float, str, bytes, bool, None, tuples, dicts), `CpuMask` values, enum
members or other registered messages, never live objects or channels.

``@message("Tag")`` registers a class under a tag.  The tag, not the Python
class name, is what travels on the bus and what the log records, so a class can
be renamed without breaking old logs; tags are never reused.  Enum classes can
be registered the same way (their members travel as ``(tag, value)``).

The runtime's own messages live at the bottom of this page; the scheduler
actors add theirs here too, so the whole protocol stays readable in one place.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from operator import attrgetter
from typing import TypeVar

__all__ = [
    "REGISTRY",
    "JobDone",
    "JobQueued",
    "MessageType",
    "Registry",
    "RegistryError",
    "message",
]

T = TypeVar("T", bound=type)


class RegistryError(TypeError):
    """A class that cannot be a message, or a tag/class registered twice."""


@dataclass(frozen=True, slots=True)
class MessageType:
    """One registered type: its tag, its class and (for dataclasses) its field names in order."""

    tag: str
    cls: type
    fields: tuple[str, ...]
    values: Callable[[object], tuple[object, ...]]
    is_enum: bool


def _values_getter(fields: tuple[str, ...]) -> Callable[[object], tuple[object, ...]]:
    """A fast `obj -> (field values...)` (attrgetter returns a bare value for one name)."""
    if not fields:
        return lambda obj: ()
    if len(fields) == 1:
        get_one = attrgetter(fields[0])
        return lambda obj: (get_one(obj),)
    get_many: Callable[[object], tuple[object, ...]] = attrgetter(*fields)
    return get_many


def _check_dataclass(cls: type) -> tuple[str, ...]:
    if not dataclasses.is_dataclass(cls):
        raise RegistryError(f"{cls.__name__} is not a dataclass")
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or not params.frozen:
        raise RegistryError(f"{cls.__name__} must be frozen=True")
    if "__slots__" not in cls.__dict__:
        raise RegistryError(f"{cls.__name__} must be slots=True")
    fields = dataclasses.fields(cls)
    loose = [f.name for f in fields if not f.kw_only]
    if loose:
        raise RegistryError(f"{cls.__name__} must be kw_only=True (positional fields: {loose})")
    return tuple(f.name for f in fields)


class Registry:
    """Tag <-> class table used by the codec (actors/codec.py)."""

    def __init__(self) -> None:
        self._by_tag: dict[str, MessageType] = {}
        self._by_class: dict[type, MessageType] = {}

    def register(self, cls: type, tag: str) -> MessageType:
        if not tag or not isinstance(tag, str):
            raise RegistryError(f"tag for {cls.__name__} must be a non-empty string")
        if tag in self._by_tag:
            raise RegistryError(f"tag {tag!r} already names {self._by_tag[tag].cls.__qualname__}")
        if cls in self._by_class:
            raise RegistryError(f"{cls.__qualname__} is already registered")
        is_enum = isinstance(cls, enum.EnumMeta)
        fields = () if is_enum else _check_dataclass(cls)
        entry = MessageType(tag, cls, fields, _values_getter(fields), is_enum)
        self._by_tag[tag] = entry
        self._by_class[cls] = entry
        return entry

    def by_tag(self, tag: str) -> MessageType | None:
        return self._by_tag.get(tag)

    def by_class(self, cls: type) -> MessageType | None:
        return self._by_class.get(cls)

    def __iter__(self) -> Iterator[MessageType]:
        """Registered types in tag order."""
        return iter(sorted(self._by_tag.values(), key=lambda entry: entry.tag))

    def __len__(self) -> int:
        return len(self._by_tag)


REGISTRY = Registry()
"""The process-wide protocol table (tags are global, like the kernel's message numbers)."""


def message(tag: str) -> Callable[[T], T]:
    """Class decorator: register a message dataclass (or an Enum) under *tag*."""

    def register(cls: T) -> T:
        REGISTRY.register(cls, tag)
        return cls

    return register


# -- the runtime's own messages ------------------------------------------------


@message("JobQueued")
@dataclass(frozen=True, slots=True, kw_only=True)
class JobQueued:
    """Serializer owner -> its worker actor: run job number *job* (*label* names it in the log)."""

    serial: str
    job: int
    label: str


@message("JobDone")
@dataclass(frozen=True, slots=True, kw_only=True)
class JobDone:
    """Serializer worker -> owner: job *job* ran from *started_ns* to *finished_ns*."""

    serial: str
    job: int
    submitted_ns: int
    started_ns: int
    finished_ns: int
