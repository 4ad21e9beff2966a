"""``/sys/devices/system/cpu``: the CPU hotplug files an admin script writes.

Models drivers/base/cpu.c: ``cpuN/online`` (read 0/1; write with
``kstrtobool``, then cpu_device_up/down -> the cpuset hotplug hook) and the
read-only ``online`` / ``possible`` / ``present`` cpulists.
"""

from __future__ import annotations

import errno

from cpuset.hotplug import set_online
from cpuset.tree import CpusetError, CpusetTree

__all__ = [
    "SYSFS_CPU",
    "kstrtobool",
    "sysfs_dirs",
    "sysfs_file",
    "sysfs_names",
    "sysfs_read",
    "sysfs_write",
]

SYSFS_CPU = "/sys/devices/system/cpu"
_LISTS = ("online", "possible", "present")


def sysfs_dirs(nr_cpus: int) -> set[str]:
    """The directories of the CPU subsystem: ``.../cpu`` and one ``cpuN`` per CPU."""
    base = {"/sys/devices", "/sys/devices/system", SYSFS_CPU}
    return base | {f"{SYSFS_CPU}/cpu{n}" for n in range(nr_cpus)}


def sysfs_file(abs_path: str, nr_cpus: int) -> tuple[int | None, str] | None:
    """(cpu, name) for ``cpuN/online``, (None, name) for the cpulists, else None."""
    if not abs_path.startswith(SYSFS_CPU + "/"):
        return None
    parts = abs_path[len(SYSFS_CPU) + 1 :].split("/")
    if len(parts) == 1 and parts[0] in _LISTS:
        return None, parts[0]
    if len(parts) == 2 and parts[1] == "online" and parts[0].startswith("cpu"):
        number = parts[0][3:]
        if number.isdigit() and int(number) < nr_cpus:
            return int(number), "online"
    return None


def sysfs_names(abs_path: str) -> set[str]:
    """The files listed in a sysfs directory (beside its subdirectories)."""
    if abs_path == SYSFS_CPU:
        return set(_LISTS)
    if abs_path.startswith(SYSFS_CPU + "/cpu"):
        return {"online"}
    return set()


def sysfs_read(tree: CpusetTree, cpu: int | None, name: str) -> str:
    if cpu is not None:
        return "1" if cpu in tree.online_cpus else "0"
    if name == "online":
        return str(tree.online_cpus)
    return str(tree.machine.all_cpus)


def kstrtobool(text: str) -> bool:
    """kstrtobool: 1/y/Y/on -> true, 0/n/N/off -> false, else EINVAL."""
    word = text.strip().lower()
    if word in ("1", "y", "yes", "on"):
        return True
    if word in ("0", "n", "no", "off"):
        return False
    raise CpusetError(errno.EINVAL, f"{text.strip()!r} is not a boolean")


def sysfs_write(tree: CpusetTree, cpu: int, text: str) -> None:
    """Write ``cpuN/online``: bring the CPU up or down."""
    set_online(tree, cpu, kstrtobool(text))
