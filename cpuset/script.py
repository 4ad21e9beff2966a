"""Script text for the admin shell: lines into simple commands, and what a run printed.

The subset of ``sh`` syntax the cpuset recipes use: one command per line or
``;``-separated, ``#`` comments, single and double quotes, backslash escapes,
``$$`` / ``$!`` / ``$?`` and ``$NAME`` (unset names expand to nothing, as in
sh), redirections ``>``, ``>>``, ``2>``, and a trailing ``&``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# SIMPLIFIED: no pipes, loops, functions, globbing or field splitting of
# unquoted expansions; variables are expanded when a line is read.

__all__ = [
    "CommandOutcome",
    "Redirect",
    "ShellResult",
    "ShellSyntaxError",
    "SimpleCommand",
    "split_line",
]


class ShellSyntaxError(ValueError):
    """A line the shell cannot parse (an unterminated quote)."""


@dataclass(frozen=True, slots=True)
class Redirect:
    """``[fd]>target`` or ``[fd]>>target``."""

    fd: int
    target: str
    append: bool


@dataclass(frozen=True, slots=True)
class SimpleCommand:
    """Words, redirections and a background flag, variables already expanded."""

    words: tuple[str, ...]
    redirects: tuple[Redirect, ...]
    background: bool
    source: str


@dataclass(frozen=True, slots=True)
class CommandOutcome:
    """One command as run: where it was, what it printed, its exit status."""

    lineno: int
    command: str
    stdout: str
    stderr: str
    status: int


@dataclass(frozen=True, slots=True)
class ShellResult:
    """Every command's outcome, in order; *stopped* if a failure ended the run early."""

    outcomes: tuple[CommandOutcome, ...]
    stopped: bool = False

    @property
    def failures(self) -> tuple[CommandOutcome, ...]:
        return tuple(o for o in self.outcomes if o.status != 0)

    @property
    def stdout(self) -> str:
        return "".join(o.stdout for o in self.outcomes)

    @property
    def stderr(self) -> str:
        return "".join(o.stderr for o in self.outcomes)

    @property
    def status(self) -> int:
        return self.outcomes[-1].status if self.outcomes else 0

    def transcript(self) -> str:
        """The session as a terminal shows it: ``$ command`` then its output."""
        lines = []
        for o in self.outcomes:
            lines.append(f"$ {o.command}\n{o.stdout}{o.stderr}")
        return "".join(lines)


@dataclass
class _Lexer:
    """Splits one line into simple commands, expanding variables as it goes."""

    line: str
    variables: dict[str, str]
    pos: int = 0
    commands: list[SimpleCommand] = field(default_factory=list)
    words: list[str] = field(default_factory=list)
    redirects: list[Redirect] = field(default_factory=list)
    word: str = ""
    in_word: bool = False
    start: int = 0

    def run(self) -> list[SimpleCommand]:
        while self.pos < len(self.line):
            ch = self.line[self.pos]
            self.pos += 1
            if ch == "#" and not self.in_word:
                break
            self._char(ch)
        self._end_command(background=False)
        return self.commands

    def _char(self, ch: str) -> None:
        if ch in " \t":
            self._flush()
        elif ch == "'":
            self._single()
        elif ch == '"':
            self._double()
        elif ch == "\\":
            self._add(self._next())
        elif ch == "$":
            value = self._variable()
            if value:  # an unquoted expansion to nothing is no word at all
                self._add(value)
        elif ch == ";":
            self._end_command(background=False)
        elif ch == "&":
            self._end_command(background=True)
        elif ch == ">":
            self._redirect()
        else:
            self._add(ch)

    def _add(self, text: str) -> None:
        self.word += text
        self.in_word = True

    def _next(self) -> str:
        ch = self.line[self.pos : self.pos + 1]
        self.pos += len(ch)
        return ch

    def _flush(self) -> None:
        if self.in_word:
            self.words.append(self.word)
        self.word, self.in_word = "", False

    def _single(self) -> None:
        end = self.line.find("'", self.pos)
        if end < 0:
            raise ShellSyntaxError("unexpected EOF while looking for matching `''")
        self._add(self.line[self.pos : end])
        self.pos = end + 1

    def _double(self) -> None:
        self.in_word = True
        while self.pos < len(self.line):
            ch = self._next()
            if ch == '"':
                return
            if ch == "\\" and self.line[self.pos : self.pos + 1] in ('"', "\\", "$"):
                self._add(self._next())
            elif ch == "$":
                self._add(self._variable())
            else:
                self._add(ch)
        raise ShellSyntaxError("unexpected EOF while looking for matching `\"'")

    def _variable(self) -> str:
        nxt = self.line[self.pos : self.pos + 1]
        if nxt in ("$", "!", "?"):
            self.pos += 1
            return self.variables.get(nxt, "")
        name = ""
        while self.pos < len(self.line) and (
            self.line[self.pos].isalnum() or self.line[self.pos] == "_"
        ):
            name += self._next()
        return self.variables.get(name, "") if name else "$"

    def _redirect(self) -> None:
        fd = 1
        if self.in_word and self.word.isdigit():
            fd = int(self.word)
            self.word, self.in_word = "", False
        else:
            self._flush()
        append = self.line[self.pos : self.pos + 1] == ">"
        if append:
            self.pos += 1
        while self.line[self.pos : self.pos + 1] in (" ", "\t"):
            self.pos += 1
        saved = self.words
        self.words = []
        while self.pos < len(self.line) and not self.words:
            ch = self._next()
            if ch in " \t;&>":
                self.pos -= 1
                break
            self._char(ch)
        self._flush()
        target = self.words[0] if self.words else ""
        self.words = saved
        self.redirects.append(Redirect(fd, target, append))

    def _end_command(self, background: bool) -> None:
        self._flush()
        if self.words or self.redirects:
            source = self.line[self.start : self.pos].strip().rstrip(";").strip()
            self.commands.append(
                SimpleCommand(tuple(self.words), tuple(self.redirects), background, source)
            )
        self.words, self.redirects = [], []
        self.start = self.pos


def split_line(line: str, variables: dict[str, str] | None = None) -> list[SimpleCommand]:
    """Parse one script line into simple commands (variables expanded)."""
    return _Lexer(line, variables or {}).run()
