"""The trio runtime (bus, virtual time, log) and the scheduler actors.

The runtime in one import::

    from actors import Context, LogSpec, Simulation, message
"""

from actors.codec import CodecError
from actors.context import Context
from actors.errors import (
    ActorCrashed,
    DeadLetter,
    Deadlock,
    Livelock,
    ProtocolError,
    SimulationError,
    UnknownActor,
)
from actors.log import LogFormat, LogLevel, LogSpec
from actors.mailbox import Batch, Envelope
from actors.messages import message
from actors.serial import Serializer, SerialMode, SerialStatistics
from actors.simulation import RunResult, Simulation, SimulationStatistics

__all__ = [
    "ActorCrashed",
    "Batch",
    "CodecError",
    "Context",
    "DeadLetter",
    "Deadlock",
    "Envelope",
    "Livelock",
    "LogFormat",
    "LogLevel",
    "LogSpec",
    "ProtocolError",
    "RunResult",
    "SerialMode",
    "SerialStatistics",
    "Serializer",
    "Simulation",
    "SimulationError",
    "SimulationStatistics",
    "UnknownActor",
    "message",
]
