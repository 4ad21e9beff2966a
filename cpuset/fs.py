"""The cpuset filesystem as an administrator meets it: paths, mkdir, rmdir, echo, cat, ls.

`CpusetFS` puts one `CpusetTree` behind a mount point -- ``/dev/cpuset`` for
the legacy eras (2.6.14's own ``cpuset`` filesystem, later ``mount -t
cpuset``, which is cgroup with ``noprefix``), ``/sys/fs/cgroup`` for v2 --
and answers path operations the way the VFS and the cpuset/cgroup handlers
do, raising `CpusetError` with the errno a shell would report:

* ENOENT for a missing path, ENOTDIR for a file used as a directory, EISDIR
  for reading or writing a directory, EEXIST for mkdir over a name;
* EACCES for writing a file that does not exist in a cpuset directory
  (kernfs directories cannot create files: vfs_create) or has no write handler;
* the cpuset rules' errnos for writes, mkdir and rmdir (see update.py).

A few other files are served too: ``/proc/<pid>/cpuset`` (the task's
cpuset path, proc_cpuset_show) and ``/proc/<pid>/status`` (``self`` is the
acting task), and ``/sys/devices/system/cpu/cpuN/online`` for hotplug
(sysfs.py).  Directories outside the mount are plain mount points, so the
kernel documentation's ``mkdir`` + ``mount`` recipe runs as written.
*isolcpus* is the ``isolcpus=`` boot list (DYN-1; housekeeping in RB-4..6).
"""

from __future__ import annotations

import errno
import posixpath
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from cpuset import hotplug
from cpuset.affinity import SetCpusAllowed, sched_setaffinity
from cpuset.attach import cpuset_exit, cpuset_fork
from cpuset.era import era_of
from cpuset.events import CpusetEvent
from cpuset.files import CpusetFile, file_table, lookup_file
from cpuset.sysfs import sysfs_dirs, sysfs_file, sysfs_names, sysfs_read, sysfs_write
from cpuset.tree import Cpuset, CpusetError, CpusetTree, SchedPartitions, Task
from cpuset.update import cpuset_mkdir, cpuset_rmdir, finish_operation, mask_width
from topology import CpuMask, NodeMask
from topology.machine import Machine

__all__ = ["CpusetFS", "PathError"]

_PLAIN = ("/", "/dev", "/proc", "/sys", "/sys/fs", "/sys/fs/cgroup")

# SIMPLIFIED: one mount of the hierarchy at a time; mounting again moves it
# (the kernel would refuse a second mount with different options, EBUSY).
# SIMPLIFIED: /proc/<pid>/status shows only the four placement lines; the
# Mems_allowed shown is the cpuset's guarantee_online_mems (a 2.6.14 task
# picks it up lazily, MP-HIST-1).


@dataclass(frozen=True, slots=True)
class _Node:
    """What a path names."""

    kind: Literal["cpuset", "file", "plain", "proc", "sysfs"]
    cs: Cpuset | None = None
    file: CpusetFile | None = None
    proc: tuple[int, str] | None = None
    sysfs: tuple[int | None, str] | None = None


class PathError(CpusetError):
    """A path that cannot be opened as asked (the shell reports it as a redirection error)."""


def _fail(err: int, path: str, what: str = "") -> PathError:
    return PathError(err, f"{path}: {what}" if what else path)


def _write_limit(tree: CpusetTree) -> int:
    """The "crude upper limit" on a write: 100 + 6 * NR_CPUS in 2.6.14's
    cpuset_common_file_write, 100 + 6 * max(NR_CPUS, MAX_NUMNODES) from 2.6.20 on.

    2.6.14 and 2.6.24 apply it to every cpuset file (the cgroup core's own files,
    2.6.24 ``tasks`` and ``notify_on_release``, excepted); modern kernels only to
    the list files (max_write_len).
    """
    cpus = mask_width(tree, False)
    return 100 + 6 * (cpus if not tree.era.cgroup else max(cpus, mask_width(tree, True)))


class CpusetFS:
    """A mounted cpuset hierarchy with a current directory and an acting task."""

    def __init__(self, machine: Machine, era: str = "v1", *, isolcpus: CpuMask | None = None):
        self.tree = CpusetTree(machine, era_of(era), isolcpus=isolcpus or CpuMask())
        self.cwd = "/"
        self.current_pid = 1
        self.prefixed = False
        self.plain_dirs: set[str] = set(_PLAIN) | {"/dev/cpuset"} | sysfs_dirs(machine.nr_cpus)

    # -- paths ------------------------------------------------------------------

    def abspath(self, path: str) -> str:
        """*path* made absolute against the current directory, with . and .. resolved."""
        joined = posixpath.join(self.cwd, path) if path else self.cwd
        norm = posixpath.normpath(joined)
        return "/" + norm.lstrip("/")

    def _inside(self, abs_path: str) -> list[str] | None:
        """The components below the mount point, or None outside the hierarchy."""
        mount = self.tree.mount_point
        if abs_path == mount:
            return []
        if abs_path.startswith(mount.rstrip("/") + "/"):
            return abs_path[len(mount.rstrip("/")) + 1 :].split("/")
        return None

    def _resolve(self, path: str) -> _Node | None:
        abs_path = self.abspath(path)
        parts = self._inside(abs_path)
        if parts is not None:
            return self._resolve_inside(path, parts)
        if abs_path in self.plain_dirs:
            return _Node("plain")
        if abs_path.startswith("/proc/"):
            return self._resolve_proc(abs_path)
        hit = sysfs_file(abs_path, self.tree.machine.nr_cpus)
        return None if hit is None else _Node("sysfs", sysfs=hit)

    def _resolve_inside(self, path: str, parts: list[str]) -> _Node | None:
        cs = self.tree.top
        for i, name in enumerate(parts):
            child = cs.child(name)
            if child is not None:
                cs = child
                continue
            found = lookup_file(self.tree, cs, name, self.prefixed)
            if found is None:
                return None
            if i != len(parts) - 1:
                raise _fail(errno.ENOTDIR, path, "Not a directory")
            return _Node("file", cs, found)
        return _Node("cpuset", cs)

    def _resolve_proc(self, abs_path: str) -> _Node | None:
        parts = abs_path.split("/")[2:]
        if len(parts) != 2 or parts[1] not in ("cpuset", "status"):
            return None
        pid = (
            self.current_pid if parts[0] == "self" else int(parts[0]) if parts[0].isdigit() else -1
        )
        if self.tree.task(pid) is None:
            return None
        return _Node("proc", proc=(pid, parts[1]))

    def _need(self, path: str) -> _Node:
        node = self._resolve(path)
        if node is None:
            raise _fail(errno.ENOENT, path, "No such file or directory")
        return node

    # -- directory operations -----------------------------------------------------

    def chdir(self, path: str) -> None:
        """cd: the target must be a directory."""
        node = self._need(path)
        if node.kind not in ("cpuset", "plain"):
            raise _fail(errno.ENOTDIR, path, "Not a directory")
        self.cwd = self.abspath(path)

    def mkdir(self, path: str, parents: bool = False) -> None:
        """mkdir [-p]: a new cpuset inside the hierarchy, a plain directory outside it."""
        abs_path = self.abspath(path)
        existing = self._resolve(abs_path)
        if existing is not None:
            if parents and existing.kind in ("cpuset", "plain"):
                return
            raise _fail(errno.EEXIST, path, "File exists")
        parent_path, name = posixpath.split(abs_path)
        parent = self._resolve(parent_path)
        if parent is None and parents:
            self.mkdir(parent_path, parents=True)
            parent = self._resolve(parent_path)
        if parent is None:
            raise _fail(errno.ENOENT, path, "No such file or directory")
        if parent.kind == "cpuset" and parent.cs is not None:
            cpuset_mkdir(self.tree, parent.cs, name)
        elif parent.kind == "plain":
            self.plain_dirs.add(abs_path)
        else:
            raise _fail(errno.ENOTDIR, path, "Not a directory")

    def rmdir(self, path: str) -> None:
        """rmdir: a cpuset without tasks or children, or an empty plain directory."""
        abs_path = self.abspath(path)
        node = self._need(path)
        if node.kind == "cpuset" and node.cs is not None:
            cpuset_rmdir(self.tree, node.cs)
        elif node.kind == "plain":
            busy = abs_path == "/" or any(
                posixpath.dirname(d) == abs_path for d in self.plain_dirs | {self.tree.mount_point}
            )
            if busy:
                raise _fail(errno.ENOTEMPTY, path, "Directory not empty")
            self.plain_dirs.discard(abs_path)
        else:
            raise _fail(errno.ENOTDIR, path, "Not a directory")

    def listdir(self, path: str = "") -> list[str]:
        """ls: the names in a directory, sorted as ``ls`` sorts them (C locale)."""
        node = self._need(path)
        if node.kind == "cpuset" and node.cs is not None:
            names = list(file_table(self.tree, node.cs, self.prefixed))
            names += [c.name for c in node.cs.children]
            return sorted(names)
        if node.kind == "plain":
            abs_path = self.abspath(path)
            dirs = self.plain_dirs | {self.tree.mount_point}
            subdirs = {posixpath.basename(d) for d in dirs if posixpath.dirname(d) == abs_path}
            return sorted((subdirs | sysfs_names(abs_path)) - {""})
        raise _fail(errno.ENOTDIR, path, "Not a directory")

    def isdir(self, path: str) -> bool:
        node = self._resolve(path)
        return node is not None and node.kind in ("cpuset", "plain")

    # -- files ------------------------------------------------------------------------

    def read(self, path: str) -> str:
        """cat: the file's text without its trailing newline."""
        node = self._resolve(path)
        if node is None:
            raise _fail(errno.ENOENT, path, "No such file or directory")
        if node.kind == "proc" and node.proc is not None:
            return self._read_proc(*node.proc)
        if node.kind == "sysfs" and node.sysfs is not None:
            return sysfs_read(self.tree, *node.sysfs)
        if node.kind != "file" or node.file is None or node.cs is None:
            raise _fail(errno.EISDIR, path, "Is a directory")
        if node.file.read is None:
            raise _fail(errno.EINVAL, path, "Invalid argument")
        return node.file.read(self.tree, node.cs)

    def cat(self, path: str) -> str:
        """Exactly what ``cat`` prints: the text and its newline (nothing for an empty list)."""
        text = self.read(path)
        node = self._resolve(path)
        if text == "" and node is not None and node.file is not None and node.file.line_list:
            return ""
        return text + "\n"

    def open_write(self, path: str) -> Callable[[str, int], None]:
        """What ``> path`` opens: a writer for an existing, writable file (PathError otherwise)."""
        node = self._resolve(path)
        if node is None:
            parent = self._resolve(posixpath.dirname(self.abspath(path)))
            err = errno.ENOENT if parent is None else errno.EACCES
            raise _fail(err, path, "cannot create files here")
        if node.kind == "sysfs" and node.sysfs is not None and node.sysfs[0] is not None:
            cpu = node.sysfs[0]
            return lambda text, pid: sysfs_write(self.tree, cpu, text)
        if node.kind in ("cpuset", "plain"):
            raise _fail(errno.EISDIR, path, "Is a directory")
        file, cs = node.file, node.cs
        if file is None or cs is None or file.write is None:
            raise _fail(errno.EACCES, path, "read-only file")
        limit = _write_limit(self.tree)
        limited = file.mask or (self.tree.era.common_file_write and file.cpuset_file)
        writer = file.write

        def write(text: str, pid: int) -> None:
            if limited and len(text) > limit:
                raise CpusetError(errno.E2BIG, f"{path}: more than {limit} bytes")
            writer(self.tree, cs, text, pid)

        return write

    def write(self, path: str, text: str, pid: int | None = None) -> None:
        """echo TEXT > path, written by task *pid* (default: the acting task)."""
        self.open_write(path)(text, self.current_pid if pid is None else pid)

    def _read_proc(self, pid: int, what: str) -> str:
        task = self.tree.tasks[pid]
        if what == "cpuset":
            return task.cpuset.path
        cpus, mems = task.cpus_allowed, self.tree.guarantee_online_mems(task.cpuset)
        nodes = mask_width(self.tree, True)
        return "\n".join(
            [
                f"Cpus_allowed:\t{cpus.hex(self.tree.machine.nr_cpus)}",
                f"Cpus_allowed_list:\t{cpus}",
                f"Mems_allowed:\t{mems.hex(nodes)}",
                f"Mems_allowed_list:\t{mems}",
            ]
        )

    # -- mounting -----------------------------------------------------------------------

    def mount(self, fstype: str, options: str, target: str) -> None:
        """mount -t FSTYPE [-o OPTIONS] SOURCE TARGET for this era's hierarchy."""
        era = self.tree.era
        opts = [o for o in options.split(",") if o]
        if era.v2:
            ok = fstype == "cgroup2"
        elif fstype == "cpuset":
            ok = True
        else:
            ok = era.cgroup and fstype == "cgroup" and "cpuset" in opts
        if not ok:
            raise _fail(errno.ENODEV, fstype, f"cannot mount this hierarchy (era {era.name})")
        abs_target = self.abspath(target)
        if abs_target != self.tree.mount_point and abs_target not in self.plain_dirs:
            raise _fail(errno.ENOENT, target, "mount point does not exist")
        self.plain_dirs.add(self.tree.mount_point)
        self.plain_dirs.discard(abs_target)
        self.tree.mount_point = abs_target
        self.prefixed = fstype == "cgroup" and "noprefix" not in opts

    # -- tasks, hotplug, affinity ---------------------------------------------------------

    def fork(self, parent_pid: int | None = None) -> int:
        """fork(): a new task in its parent's cpuset; returns the pid."""
        pid = cpuset_fork(self.tree, self.current_pid if parent_pid is None else parent_pid)
        finish_operation(self.tree)
        return pid

    def exit(self, pid: int) -> None:
        """The task exits (its cpuset may become removable)."""
        cpuset_exit(self.tree, pid)
        finish_operation(self.tree)

    def set_online(self, cpu: int, online: bool) -> None:
        hotplug.set_online(self.tree, cpu, online)

    def sched_setaffinity(
        self, pid: int, mask: CpuMask, task_cpu: int | None = None
    ) -> SetCpusAllowed:
        return sched_setaffinity(self.tree, pid, mask, task_cpu)

    # -- queries for the actors ---------------------------------------------------------------

    def task_cpuset(self, pid: int) -> str:
        return self._task(pid).cpuset.path

    def task_cpus_allowed(self, pid: int) -> CpuMask:
        return self._task(pid).cpus_allowed

    def task_mems_allowed(self, pid: int) -> NodeMask:
        """guarantee_online_mems of the task's cpuset: the mems its allocations may use."""
        return self.tree.guarantee_online_mems(self._task(pid).cpuset)

    def _task(self, pid: int) -> Task:
        task = self.tree.task(pid)
        if task is None:
            raise CpusetError(errno.ESRCH, f"no task with pid {pid}")
        return task

    @property
    def partitions(self) -> SchedPartitions:
        return self.tree.partitions

    @property
    def generation(self) -> int:
        return self.tree.generation

    def take_events(self) -> list[CpusetEvent]:
        """The notices of everything done since the last call, in order."""
        events, self.tree.events = self.tree.events, []
        return events
