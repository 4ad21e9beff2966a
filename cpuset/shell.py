"""The admin shell: runs cpuset scripts verbatim against a `CpusetFS`, reporting like bash.

Commands: ``cd``, ``pwd``, ``mkdir [-p]``, ``rmdir``, ``echo [-n]`` (the bash
builtin) and ``/bin/echo`` (coreutils), ``cat``, ``ls``, ``mount``,
``sleep N [&]``, ``sh`` / ``exit`` (a subshell is a forked task, so
``echo $$ > tasks`` then ``sh`` leaves the subshell in the cpuset, as in the
kernel documentation), ``kill``, ``taskset -p[c]``, ``true``, ``false``,
``set -e``.  Syntax is in script.py.

Diagnostics are bash's and coreutils' (C locale), e.g.
``line 6: echo: write error: Invalid argument`` for the builtin echo,
``/bin/echo: write error: Invalid argument`` for the external one,
``mkdir: cannot create directory 'x': File exists``.

The shell is an interactive session: its task (``$$``, forked from init
unless given) and its subshells stay in the tree when the script ends.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

from cpuset.fs import CpusetFS, PathError
from cpuset.script import CommandOutcome, ShellResult, ShellSyntaxError, SimpleCommand, split_line
from cpuset.tree import CpusetError
from topology import CpuMask, MaskParseError

__all__ = ["Shell", "run_shell"]


@dataclass
class _Out:
    """What one command printed."""

    stdout: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)

    def say(self, text: str) -> None:
        self.stdout.append(text)

    def complain(self, text: str) -> None:
        self.stderr.append(text + "\n")


Handler = Callable[["Shell", list[str], _Out], int]


def _strerror(exc: OSError) -> str:
    return os.strerror(exc.errno) if exc.errno is not None else str(exc)


class Shell:
    """One shell session over a CpusetFS (the state between commands)."""

    def __init__(
        self, fs: CpusetFS, *, name: str | None, pid: int | None, stop_on_error: bool
    ) -> None:
        self.fs = fs
        self.name = name
        self.pids = [pid if pid is not None else fs.fork(1)]
        self.stop_on_error = stop_on_error
        self.last_background: int | None = None
        self.status = 0
        self.lineno = 0
        self.ended = False

    @property
    def pid(self) -> int:
        return self.pids[-1]

    def where(self) -> str:
        """bash's diagnostic prefix for builtins: ``[name: ]line N: ``."""
        return f"{self.name + ': ' if self.name else ''}line {self.lineno}: "

    def run(self, script: str) -> ShellResult:
        outcomes: list[CommandOutcome] = []
        for self.lineno, line in enumerate(script.splitlines(), 1):
            try:
                commands = split_line(line, self._variables())
            except ShellSyntaxError as exc:
                commands = []
                outcomes.append(
                    CommandOutcome(self.lineno, line.strip(), "", f"{self.where()}{exc}\n", 2)
                )
                self.status = 2
            for cmd in commands:
                outcomes.append(self.execute(cmd))
                if self.ended:
                    return ShellResult(tuple(outcomes))
            if self.stop_on_error and self.status != 0:
                return ShellResult(tuple(outcomes), stopped=True)
        return ShellResult(tuple(outcomes))

    def _variables(self) -> dict[str, str]:
        bang = "" if self.last_background is None else str(self.last_background)
        return {"$": str(self.pid), "!": bang, "?": str(self.status)}

    def execute(self, cmd: SimpleCommand) -> CommandOutcome:
        out = _Out()
        self.fs.current_pid = self.pid
        self.status = self._dispatch(cmd, out)
        return CommandOutcome(
            self.lineno, cmd.source, "".join(out.stdout), "".join(out.stderr), self.status
        )

    def _dispatch(self, cmd: SimpleCommand, out: _Out) -> int:
        if not cmd.words:
            return 0
        name, args = cmd.words[0], list(cmd.words[1:])
        if name == "sleep" and cmd.background:
            return _sleep_background(self, args, out)
        handler = COMMANDS.get(name)
        if handler is None:
            out.complain(f"{self.where()}{name}: command not found")
            return 127
        stdout_to = [r for r in cmd.redirects if r.fd == 1 and r.target != "/dev/null"]
        quiet_out = any(r.fd == 1 and r.target == "/dev/null" for r in cmd.redirects)
        quiet_err = any(r.fd == 2 and r.target == "/dev/null" for r in cmd.redirects)
        if stdout_to:
            status = self._redirected(name, handler, args, stdout_to[-1].target, out)
        else:
            status = handler(self, args, out)
        if quiet_out:
            out.stdout.clear()
        if quiet_err:
            out.stderr.clear()
        return status

    def _redirected(
        self, name: str, handler: Handler, args: list[str], target: str, out: _Out
    ) -> int:
        """``cmd > target``: open first (bash reports failures), then one write of the output."""
        try:
            self.fs.open_write(target)
        except PathError as exc:
            out.complain(f"{self.where()}{target}: {_strerror(exc)}")
            return 1
        captured = _Out()
        status = handler(self, args, captured)
        out.stderr.extend(captured.stderr)
        text = "".join(captured.stdout)
        if not text:
            return status
        try:
            self.fs.write(target, text, pid=self.pid)
        except CpusetError as exc:
            who = f"{self.where()}echo" if name == "echo" else name
            out.complain(f"{who}: write error: {_strerror(exc)}")
            return 1
        return status


def _cd(sh: Shell, args: list[str], out: _Out) -> int:
    target = args[0] if args else "/"
    try:
        sh.fs.chdir(target)
    except CpusetError as exc:
        out.complain(f"{sh.where()}cd: {target}: {_strerror(exc)}")
        return 1
    return 0


def _pwd(sh: Shell, args: list[str], out: _Out) -> int:
    out.say(sh.fs.cwd + "\n")
    return 0


def _mkdir(sh: Shell, args: list[str], out: _Out) -> int:
    parents = "-p" in args
    status = 0
    for path in (a for a in args if a != "-p"):
        try:
            sh.fs.mkdir(path, parents=parents)
        except CpusetError as exc:
            out.complain(f"mkdir: cannot create directory '{path}': {_strerror(exc)}")
            status = 1
    return status


def _rmdir(sh: Shell, args: list[str], out: _Out) -> int:
    status = 0
    for path in args:
        try:
            sh.fs.rmdir(path)
        except CpusetError as exc:
            out.complain(f"rmdir: failed to remove '{path}': {_strerror(exc)}")
            status = 1
    return status


def _echo(sh: Shell, args: list[str], out: _Out) -> int:
    newline = True
    while args and args[0] == "-n":
        newline = False
        args = args[1:]
    out.say(" ".join(args) + ("\n" if newline else ""))
    return 0


def _cat(sh: Shell, args: list[str], out: _Out) -> int:
    status = 0
    for path in args:
        try:
            out.say(sh.fs.cat(path))
        except CpusetError as exc:
            out.complain(f"cat: {path}: {_strerror(exc)}")
            status = 1
    return status


def _ls(sh: Shell, args: list[str], out: _Out) -> int:
    paths = [a for a in args if not a.startswith("-")] or [""]
    status = 0
    listings = []
    for path in paths:
        if not sh.fs.isdir(path):
            try:
                sh.fs.read(path)
                out.say(path + "\n")
            except CpusetError:
                out.complain(f"ls: cannot access '{path}': No such file or directory")
                status = 2
            continue
        listings.append((path, sh.fs.listdir(path)))
    for i, (path, names) in enumerate(listings):
        if len(paths) > 1:
            out.say(("\n" if i else "") + f"{path}:\n")
        out.say("".join(n + "\n" for n in names))
    return status


def _mount(sh: Shell, args: list[str], out: _Out) -> int:
    fstype, options, positional = "", "", []
    it = iter(args)
    for arg in it:
        if arg == "-t":
            fstype = next(it, "")
        elif arg == "-o":
            options = next(it, "")
        elif arg.startswith("-o"):
            options = arg[2:]
        else:
            positional.append(arg)
    target = positional[-1] if positional else ""
    try:
        sh.fs.mount(fstype, options, target)
    except CpusetError as exc:
        out.complain(f"mount: {target}: {_strerror(exc)}")
        return 32
    return 0


def _sleep_background(sh: Shell, args: list[str], out: _Out) -> int:
    sh.last_background = sh.fs.fork(sh.pid)
    return 0


def _sleep(sh: Shell, args: list[str], out: _Out) -> int:
    sh.fs.exit(sh.fs.fork(sh.pid))
    return 0


def _sh(sh: Shell, args: list[str], out: _Out) -> int:
    sh.pids.append(sh.fs.fork(sh.pid))
    return 0


def _exit(sh: Shell, args: list[str], out: _Out) -> int:
    code = int(args[0]) if args and args[0].isdigit() else sh.status
    if len(sh.pids) > 1:
        sh.fs.exit(sh.pids.pop())
    else:
        sh.ended = True
    return code


def _kill(sh: Shell, args: list[str], out: _Out) -> int:
    status = 0
    for arg in (a for a in args if not a.startswith("-")):
        pid = int(arg) if arg.isdigit() else -1
        if pid == sh.pid:
            return _exit(sh, [], out)
        try:
            sh.fs.exit(pid)
        except CpusetError as exc:
            out.complain(f"{sh.where()}kill: ({arg}) - {_strerror(exc)}")
            status = 1
    return status


def _taskset(sh: Shell, args: list[str], out: _Out) -> int:
    """util-linux taskset -p [-c] [MASK|LIST] PID."""
    flags = "".join(a[1:] for a in args if a.startswith("-"))
    rest = [a for a in args if not a.startswith("-")]
    as_list = "c" in flags
    if "p" not in flags or not rest or not rest[-1].isdigit():
        out.complain("taskset: only the -p [-c] [mask|list] pid form is simulated")
        return 1
    pid = int(rest[-1])
    label = "list" if as_list else "mask"

    def show(mask: CpuMask) -> str:
        return str(mask) if as_list else f"{mask.bits:x}"

    try:
        current = sh.fs.task_cpus_allowed(pid)
    except CpusetError as exc:
        out.complain(f"taskset: failed to get pid {pid}'s affinity: {_strerror(exc)}")
        return 1
    out.say(f"pid {pid}'s current affinity {label}: {show(current)}\n")
    if len(rest) < 2:
        return 0
    try:
        mask = CpuMask.parse(rest[0]) if as_list else CpuMask(int(rest[0], 16))
        result = sh.fs.sched_setaffinity(pid, mask)
    except (CpusetError, MaskParseError, ValueError) as exc:
        reason = _strerror(exc) if isinstance(exc, OSError) else "Invalid argument"
        out.complain(f"taskset: failed to set pid {pid}'s affinity: {reason}")
        return 1
    out.say(f"pid {pid}'s new affinity {label}: {show(result.cpus_allowed)}\n")
    return 0


def _true(sh: Shell, args: list[str], out: _Out) -> int:
    return 0


def _false(sh: Shell, args: list[str], out: _Out) -> int:
    return 1


def _set(sh: Shell, args: list[str], out: _Out) -> int:
    if "-e" in args:
        sh.stop_on_error = True
    if "+e" in args:
        sh.stop_on_error = False
    return 0


def _bin_echo(sh: Shell, args: list[str], out: _Out) -> int:
    return _echo(sh, args, out)


COMMANDS: dict[str, Handler] = {
    "cd": _cd,
    "pwd": _pwd,
    "mkdir": _mkdir,
    "rmdir": _rmdir,
    "echo": _echo,
    "/bin/echo": _bin_echo,
    "cat": _cat,
    "ls": _ls,
    "mount": _mount,
    "sleep": _sleep,
    "sh": _sh,
    "exit": _exit,
    "kill": _kill,
    "taskset": _taskset,
    "true": _true,
    ":": _true,
    "false": _false,
    "set": _set,
}


def run_shell(
    fs: CpusetFS,
    script: str,
    stop_on_error: bool = False,
    *,
    name: str | None = None,
    pid: int | None = None,
) -> ShellResult:
    """Run *script* as task *pid* (default: a new shell forked from init) and report each command.

    *name* prefixes bash-style diagnostics (``name: line 6: ...``).
    """
    return Shell(fs, name=name, pid=pid, stop_on_error=stop_on_error).run(script)
