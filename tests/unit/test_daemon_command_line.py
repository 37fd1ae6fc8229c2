"""The rule that turns a daemon task's `run` and its parameter values into an argument vector."""

from __future__ import annotations

import subprocess

import pytest

from chalicelib.faces.daemon.command_line import appends_arguments, is_simple_command, shell_argv

SIMPLE = ["./deploy.sh", "python job.py --x", "echo hi", "  ls -l  ", "FOO=1 ./run", "exec ./server --port 80",
          "printf '%s,'"]
NOT_SIMPLE = [
    'for a in "$@"; do echo "arg=$a"; done', "if true; then echo y; fi", "{ echo a; echo b; }", "echo a # note",
    "echo a &&", "echo a |", "echo a\necho b", "echo a; echo b", "echo $(date)", "echo `date`", "(echo a)",
    "echo a > out", "cat < in", "echo ${HOME}", "FOO=1", "eval", "eval echo", ". ./env.sh", "source x",
    "trap 'echo' EXIT", "while true", "case x in", "! true", "echo a \\", "echo a &", "echo $#",
]


@pytest.mark.parametrize("run", SIMPLE)
def test_a_single_simple_command_gets_the_values_appended(run):
    assert is_simple_command(run) and appends_arguments(run)


@pytest.mark.parametrize("run", NOT_SIMPLE)
def test_anything_more_than_one_simple_command_is_left_as_written(run):
    assert not is_simple_command(run) and not appends_arguments(run)


@pytest.mark.parametrize("run", ['echo "$1"', "echo $2 $9", 'printf %s "$@"', "echo $*"])
def test_a_simple_command_that_reads_positionals_itself_gets_nothing_appended(run):
    assert is_simple_command(run) and not appends_arguments(run)


def test_values_follow_the_task_name_and_are_never_part_of_the_script():
    argv = shell_argv("/bin/sh", "for a in \"$@\"; do echo $a; done", "greet", ("; touch x", "$(id)"))
    assert argv == ["/bin/sh", "-e", "-c", 'for a in "$@"; do echo $a; done', "greet", "; touch x", "$(id)"]
    assert shell_argv("/bin/sh", "./deploy.sh ", "d", ("v",)) == ["/bin/sh", "-e", "-c", './deploy.sh "$@"', "d", "v"]
    assert shell_argv("/bin/sh", "./deploy.sh", "d", ()) == ["/bin/sh", "-e", "-c", "./deploy.sh", "d"]


def _run(run: str, *values: str) -> str:
    return subprocess.run(shell_argv("/bin/sh", run, "greet", values), capture_output=True, text=True,
                          check=True).stdout


def test_the_shell_sees_the_task_name_as_dollar_zero_and_the_values_as_positionals():
    assert _run('echo "$0:$#:$1:$2"', "a b", "c") == "greet:2:a b:c\n"
    assert _run("echo", "a", "$(id)") == "a $(id)\n"
    assert _run("echo done # the values are not commented out", "x") == "done\n"
