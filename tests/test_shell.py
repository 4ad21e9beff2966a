"""The admin shell: syntax, bash's diagnostics, session state (cpuset/script.py, shell.py)."""

from __future__ import annotations

import pytest

from cpuset import CpusetFS, run_shell
from cpuset.script import Redirect, split_line
from topology.presets import preset


def fs_for(era: str = "v1", machine: str = "smt-numa-8") -> CpusetFS:
    return CpusetFS(preset(machine), era=era)


def words(line: str, **variables: str) -> list[tuple[str, ...]]:
    return [c.words for c in split_line(line, variables)]


def test_quotes_escapes_and_variables_make_words() -> None:
    assert words("""echo 'a $$ b' "c $$" d\\ e $NOPE""", **{"$": "7"}) == [
        ("echo", "a $$ b", "c 7", "d e")
    ]


def test_comments_start_only_at_a_word_boundary() -> None:
    assert words("echo a#b # c d") == [("echo", "a#b")]


def test_semicolons_separate_commands() -> None:
    assert words("cd /dev/cpuset; mkdir a ;ls") == [("cd", "/dev/cpuset"), ("mkdir", "a"), ("ls",)]


@pytest.mark.parametrize(
    ("line", "expected_words", "redirect"),
    [
        ("echo 0 >cpus", ("echo", "0"), Redirect(1, "cpus", False)),
        ("echo 0 > cpus", ("echo", "0"), Redirect(1, "cpus", False)),
        ("echo 0 >> 'my cpus'", ("echo", "0"), Redirect(1, "my cpus", True)),
        ("echo 1>cpus", ("echo",), Redirect(1, "cpus", False)),
        ("cat x 2>/dev/null", ("cat", "x"), Redirect(2, "/dev/null", False)),
    ],
)
def test_redirections_are_parsed_as_bash_does(
    line: str, expected_words: tuple[str, ...], redirect: Redirect
) -> None:
    (cmd,) = split_line(line)
    assert (cmd.words, cmd.redirects) == (expected_words, (redirect,))


def test_trailing_ampersand_runs_in_the_background() -> None:
    (cmd,) = split_line("sleep 100 &")
    assert (cmd.words, cmd.background) == (("sleep", "100"), True)


def test_builtin_echo_write_error_reads_like_bash() -> None:
    fs = fs_for("2.6.14", "numa-2x2")
    script = "cd /dev/cpuset\nmkdir a\ncd a\necho 7 > cpus\n"
    assert run_shell(fs, script).stderr == "line 4: echo: write error: No space left on device\n"
    assert run_shell(fs, script.replace("mkdir a\n", ""), name="t.sh").stderr == (
        "t.sh: line 3: echo: write error: No space left on device\n"
    )


def test_bin_echo_write_error_is_coreutils_style() -> None:
    result = run_shell(fs_for(), "/bin/echo A > /dev/cpuset/memory_migrate\n")
    assert (result.stderr, result.status) == ("/bin/echo: write error: Invalid argument\n", 1)


def test_redirection_to_a_missing_file_fails_before_the_command_runs() -> None:
    result = run_shell(fs_for(), "echo 1 > /dev/cpuset/nosuch\n", name="s")
    assert result.stderr == "s: line 1: /dev/cpuset/nosuch: Permission denied\n"


@pytest.mark.parametrize(
    ("script", "message"),
    [
        (
            "mkdir /dev/cpuset/tasks\n",
            "mkdir: cannot create directory '/dev/cpuset/tasks': File exists\n",
        ),
        ("rmdir /dev/cpuset\n", "rmdir: failed to remove '/dev/cpuset': Device or resource busy\n"),
        ("cat /dev/cpuset/x\n", "cat: /dev/cpuset/x: No such file or directory\n"),
        ("cd /dev/cpuset/x\n", "line 1: cd: /dev/cpuset/x: No such file or directory\n"),
        ("ls /x\n", "ls: cannot access '/x': No such file or directory\n"),
        ("frobnicate\n", "line 1: frobnicate: command not found\n"),
        ("echo 'oops\n", "line 1: unexpected EOF while looking for matching `''\n"),
        ("kill 99\n", "line 1: kill: (99) - No such process\n"),
        ("kill 1\n", "line 1: kill: (1) - Operation not permitted\n"),
    ],
)
def test_diagnostics_match_the_tools(script: str, message: str) -> None:
    assert run_shell(fs_for(), script).stderr == message


def test_stop_on_error_and_set_e_stop_at_the_first_failure() -> None:
    script = "cat /nope\nmkdir /dev/cpuset/a\n"
    stopped = run_shell(fs_for(), script, stop_on_error=True)
    assert (stopped.stopped, len(stopped.outcomes)) == (True, 1)
    fs = fs_for()
    result = run_shell(fs, "set -e\n" + script)
    assert (result.stopped, fs.isdir("/dev/cpuset/a")) == (True, False)
    assert len(run_shell(fs_for(), script).outcomes) == 2


def test_subshell_is_a_new_task_left_in_the_cpuset_and_exit_returns() -> None:
    fs = fs_for()
    script = (
        "echo $$\nmkdir /dev/cpuset/c\necho 2-3 > /dev/cpuset/c/cpus\necho 1 > /dev/cpuset/c/mems\n"
        "echo $$ > /dev/cpuset/c/tasks\nsh\necho $$\ncat /proc/self/cpuset\nexit\necho $$\n"
    )
    result = run_shell(fs, script)
    shell, subshell, back = (o.stdout.strip() for o in result.outcomes if o.command == "echo $$")
    assert (shell == back, shell != subshell) == (True, True)
    assert [o.stdout for o in result.outcomes if o.command.startswith("cat")] == ["/c\n"]
    assert (fs.read("/dev/cpuset/c/tasks"), int(subshell) in fs.tree.tasks) == (shell, False)


def test_background_sleep_gives_bang_and_can_be_killed() -> None:
    fs = fs_for()
    result = run_shell(fs, "sleep 100 &\necho $!\nkill $!\necho $?\n")
    pid = result.outcomes[1].stdout.strip()
    assert (result.outcomes[3].stdout, int(pid) in fs.tree.tasks) == ("0\n", False)


def test_taskset_shows_and_sets_the_affinity_list() -> None:
    result = run_shell(fs_for(), "taskset -pc 2-3 1\n")
    assert result.stdout == "pid 1's current affinity list: 0-7\npid 1's new affinity list: 2-3\n"


def test_taskset_mask_form_prints_hex() -> None:
    result = run_shell(fs_for(), "taskset -p 30 1\ntaskset -p 1\n")
    assert result.stdout.split("\n")[1:3] == [
        "pid 1's new affinity mask: 30",
        "pid 1's current affinity mask: 30",
    ]


def test_dev_null_discards_and_pwd_prints_the_directory() -> None:
    result = run_shell(fs_for(), "cat /nope 2>/dev/null\ncd /dev/cpuset\npwd\n")
    assert (result.stderr, result.stdout) == ("", "/dev/cpuset\n")


def test_transcript_shows_each_command_and_its_output() -> None:
    result = run_shell(fs_for(), "cd /dev/cpuset\ncat cpus\n")
    assert result.transcript() == "$ cd /dev/cpuset\n$ cat cpus\n0-7\n"


def test_the_shell_runs_as_a_task_forked_from_init_unless_given_a_pid() -> None:
    fs = fs_for()
    run_shell(fs, "true\n")
    assert sorted(fs.tree.tasks) == [1, 2]
    run_shell(fs, "true\n", pid=1)
    assert sorted(fs.tree.tasks) == [1, 2]
