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
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from operator import attrgetter
from typing import Literal, TypeVar, Union, get_args, get_origin, get_type_hints

from cpuset.mempolicy import MemPolicy, MpolFlag, MpolMode
from topology.cpumask import CpuMask

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

_ATOMS: frozenset[object] = frozenset({int, float, str, bytes, bool, type(None), CpuMask})


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


def _check_encodable(cls: type, fields: tuple[str, ...]) -> None:
    """Refuse a field annotated with a set: msgpack has no set type, so the message could
    be delivered with the log off (handed over as is) but not logged (CodecError)."""
    try:
        hints = get_type_hints(cls)
    except Exception:  # an annotation naming something local: checked when encoded
        return
    for name in fields:
        if _mentions_set(hints[name]):
            raise RegistryError(
                f"{cls.__name__}.{name}: a set cannot be encoded (use a sorted tuple)"
            )


def _mentions_set(hint: object) -> bool:
    if hint in (set, frozenset) or get_origin(hint) in (set, frozenset):
        return True
    return any(_mentions_set(arg) for arg in get_args(hint) if arg is not Ellipsis)


class Registry:
    """Tag <-> class table used by the codec (actors/codec.py)."""

    def __init__(self) -> None:
        self._by_tag: dict[str, MessageType] = {}
        self._by_class: dict[type, MessageType] = {}
        self._immutable: dict[type, bool] = {}

    def register(self, cls: type, tag: str) -> MessageType:
        if not tag or not isinstance(tag, str):
            raise RegistryError(f"tag for {cls.__name__} must be a non-empty string")
        if tag in self._by_tag:
            raise RegistryError(f"tag {tag!r} already names {self._by_tag[tag].cls.__qualname__}")
        if cls in self._by_class:
            raise RegistryError(f"{cls.__qualname__} is already registered")
        is_enum = isinstance(cls, enum.EnumMeta)
        fields = () if is_enum else _check_dataclass(cls)
        if not is_enum:
            _check_encodable(cls, fields)
        entry = MessageType(tag, cls, fields, _values_getter(fields), is_enum)
        self._by_tag[tag] = entry
        self._by_class[cls] = entry
        return entry

    def by_tag(self, tag: str) -> MessageType | None:
        return self._by_tag.get(tag)

    def immutable(self, cls: type) -> bool:
        """Can an instance of *cls* be handed over as is (no field can ever change)?

        True for registered enums, and for registered dataclasses whose field
        types are built only from int, float, str, bytes, bool, None, CpuMask,
        enums, tuples and other immutable messages (a set field is refused when the
        class is registered: msgpack cannot encode it).  A ``list``,
        ``dict``, ``object`` or unresolvable annotation makes it False.  The bus
        then delivers the sender's object instead of decoding the bytes again:
        frozen all the way down, it cannot tell the difference (the codec's
        round trip is equal, tests/test_codec.py).
        """
        known = self._immutable.get(cls)
        if known is None:
            self._immutable[cls] = False  # while checking: a cycle counts as mutable
            known = self._immutable[cls] = self._check_immutable(cls)
        return known

    def _check_immutable(self, cls: type) -> bool:
        entry = self._by_class.get(cls)
        if entry is None:
            return False
        if entry.is_enum:
            return True
        try:
            hints = get_type_hints(cls)
        except Exception:  # an annotation naming something local: assume the worst
            return False
        return all(self._immutable_type(hints[name]) for name in entry.fields)

    def _immutable_type(self, hint: object) -> bool:
        if hint in _ATOMS:
            return True
        origin = get_origin(hint)
        if origin is Literal:
            return True
        if origin in (tuple, Union, types.UnionType):
            return all(arg is Ellipsis or self._immutable_type(arg) for arg in get_args(hint))
        if isinstance(hint, type) and issubclass(hint, enum.Enum):
            return True
        return isinstance(hint, type) and self.immutable(hint)

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


# -- the scheduler actors' protocol (actors/cpu.py, balancer.py, controller.py, workload.py) ----
#
# A task travels as a `TaskRecord` inside `TaskMoved`: while it is in flight it
# is in exactly one message and on no runqueue (DESIGN.md invariant 1).  CPU
# numbers are ints, masks are `CpuMask`, generations are the controller's
# domain-generation numbers.

REGISTRY.register(MemPolicy, "MemPolicy")

TaskValue = (
    int | str | bool | CpuMask | MemPolicy | tuple[tuple[int, int], ...] | tuple[str, CpuMask, str]
) | None
"""What a `Task` field may hold while it travels in a `TaskRecord` (the pending
set_mempolicy ``(mode, nodes, flags)`` included)."""
REGISTRY.register(MpolMode, "MpolMode")
REGISTRY.register(MpolFlag, "MpolFlag")


@message("TaskRecord")
@dataclass(frozen=True, slots=True, kw_only=True)
class TaskRecord:
    """A task's whole state while it travels (see actors/task.py `Task` for the fields).

    The value types are spelled out (tests/test_codec.py checks them against
    `Task`'s fields) so that a record is immutable all the way down.
    """

    values: tuple[TaskValue, ...]


@message("Tick")
@dataclass(frozen=True, slots=True, kw_only=True)
class Tick:
    """CPU -> itself, sent with ``at_ns``: wake up at that time (a lazy or an exact tick)."""

    at_ns: int


@message("TaskMoved")
@dataclass(frozen=True, slots=True, kw_only=True)
class TaskMoved:
    """Any CPU or the controller -> a CPU: enqueue this task (fork, wakeup, migration, hotplug).

    *reason* is "fork", "wake", "balance", "newidle", "active", "affinity" or
    "hotplug"; *level* names the domain level for balance moves ("" otherwise).
    """

    task: TaskRecord
    src: int
    reason: str
    level: str = ""


@message("MigrateTasks")
@dataclass(frozen=True, slots=True, kw_only=True)
class MigrateTasks:
    """Puller CPU -> busiest CPU: detach *pids* for *dst* (re-checked on arrival, CS-CPU-2).

    *generation* is the domain generation of the pass that decided it; a
    retired generation aborts the request (DESIGN.md invariant 6).
    """

    dst: int
    pids: tuple[int, ...]
    generation: int
    level: str
    reason: str


@message("ActiveBalance")
@dataclass(frozen=True, slots=True, kw_only=True)
class ActiveBalance:
    """Puller CPU -> busiest CPU's migration thread: push one task to *push_cpu* (§2.10)."""

    push_cpu: int
    generation: int
    level: str
    nr_balance_failed: int
    cache_nice_tries: int
    cache_hot_time_ns: int


@message("BalanceRequest")
@dataclass(frozen=True, slots=True, kw_only=True)
class BalanceRequest:
    """CPU -> balancer (tasklet mode): tasklet_schedule at this tick (LB-T2).

    A refused CPU keeps calling tasklet_schedule at every tick; it sends this
    once and the balancer counts its refusals tick by tick until it wins or
    sends `WithdrawRequest` (lazy, like the ticks themselves).
    """

    cpu: int


@message("WithdrawRequest")
@dataclass(frozen=True, slots=True, kw_only=True)
class WithdrawRequest:
    """CPU -> balancer (tasklet mode): I stopped ticking (offline); stop retrying for me."""

    cpu: int


@message("TickContest")
@dataclass(frozen=True, slots=True, kw_only=True)
class TickContest:
    """Balancer -> itself: the first tick after the tasklet left SCHED (*lock*: after the
    SD_SERIALIZE lock was released); the waiting CPUs try again (*settle*: the second
    step, once this tick's own requests have arrived)."""

    jiffy: int
    settle: bool
    lock: bool = False


@message("WaitSerialize")
@dataclass(frozen=True, slots=True, kw_only=True)
class WaitSerialize:
    """CPU -> balancer (softirq-serialize): my SD_SERIALIZE *levels* were skipped while due;
    I try the lock again at every tick until I get it (lazily: see `SerializeGranted`)."""

    cpu: int
    levels: tuple[str, ...]


@message("SerializeGranted")
@dataclass(frozen=True, slots=True, kw_only=True)
class SerializeGranted:
    """Balancer -> a waiting CPU: your tick's spin_trylock(&balancing) succeeded; balance."""


@message("RunPass")
@dataclass(frozen=True, slots=True, kw_only=True)
class RunPass:
    """Balancer -> CPU: the tasklet runs on you now (TASKLET_STATE_RUN is yours)."""


@message("PassDone")
@dataclass(frozen=True, slots=True, kw_only=True)
class PassDone:
    """CPU -> balancer: the tasklet function returned (tasklet_unlock)."""

    cpu: int


@message("TrySerialize")
@dataclass(frozen=True, slots=True, kw_only=True)
class TrySerialize:
    """CPU -> balancer (ask, softirq-serialize mode): spin_trylock(&balancing) (LB-T3)."""

    cpu: int


@message("TrySerializeReply")
@dataclass(frozen=True, slots=True, kw_only=True)
class TrySerializeReply:
    """Balancer -> CPU: whether the SD_SERIALIZE lock is now held by the asker."""

    acquired: bool


@message("ReleaseSerialize")
@dataclass(frozen=True, slots=True, kw_only=True)
class ReleaseSerialize:
    """CPU -> balancer: spin_unlock(&balancing)."""

    cpu: int


@message("DomainsRebuilt")
@dataclass(frozen=True, slots=True, kw_only=True)
class DomainsRebuilt:
    """Controller -> every CPU: attach generation *generation* (published in `Shared.domains`)."""

    generation: int


@message("DomainsAttached")
@dataclass(frozen=True, slots=True, kw_only=True)
class DomainsAttached:
    """CPU -> controller: this CPU now uses *generation* (its grace-period acknowledgement)."""

    cpu: int
    generation: int


@message("SetCpusAllowed")
@dataclass(frozen=True, slots=True, kw_only=True)
class SetCpusAllowed:
    """Controller -> the task's CPU: new cpus_allowed; migrate if this CPU left it (CS-CPU-2)."""

    pid: int
    cpus_allowed: CpuMask


@message("CpusetMoved")
@dataclass(frozen=True, slots=True, kw_only=True)
class CpusetMoved:
    """Controller -> the task's CPU: the task is now in cpuset *path* (CS-ATT-1)."""

    pid: int
    path: str


@message("RebindNotice")
@dataclass(frozen=True, slots=True, kw_only=True)
class RebindNotice:
    """Controller -> a CPU owning tasks *pids*: their mems become *new* (from *old*).

    Lazy rebind: each task remaps its own policy the next time it runs or
    allocates (MP-HIST-1); direct: the CPU remaps at once (MP-HIST-4).
    """

    pids: tuple[int, ...]
    old: CpuMask
    new: CpuMask
    memory_migrate: bool


@message("SetMempolicy")
@dataclass(frozen=True, slots=True, kw_only=True)
class SetMempolicy:
    """Controller -> the task's CPU: the task calls set_mempolicy next time it runs."""

    pid: int
    mode: str
    nodes: CpuMask
    flags: str


@message("KillTask")
@dataclass(frozen=True, slots=True, kw_only=True)
class KillTask:
    """Controller -> the task's CPU: SIGKILL."""

    pid: int


@message("TaskExited")
@dataclass(frozen=True, slots=True, kw_only=True)
class TaskExited:
    """CPU -> controller: *pid* exited (cpuset_exit)."""

    pid: int


@message("ForkTasks")
@dataclass(frozen=True, slots=True, kw_only=True)
class ForkTasks:
    """CPU -> controller: the running *parent* forks *count* children (exiting tasks)."""

    parent: TaskRecord
    cpu: int
    count: int


@message("SetOnline")
@dataclass(frozen=True, slots=True, kw_only=True)
class SetOnline:
    """Controller -> a CPU: it goes offline (push every task away) or comes back online."""

    online: bool


@message("RunStep")
@dataclass(frozen=True, slots=True, kw_only=True)
class RunStep:
    """Workload -> controller: carry out scenario step number *index* (or spawn group *spawn*)."""

    index: int
    spawn: str = ""


@message("Sample")
@dataclass(frozen=True, slots=True, kw_only=True)
class Sample:
    """Sampler -> itself, with ``at_ns``: take the imbalance sample of this instant."""
