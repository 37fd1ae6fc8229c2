"""How a daemon task's `run` and its parameter values become one argument vector.

The command is always `<shell> -e -c <run> <task-name> <values...>`: `$0` is the task name and
the values are the shell's positional parameters (`$1`.., `"$@"`), never part of the shell text.
A `run` that is one *simple command* and does not read the positional parameters itself also
gets the values appended as its arguments (`<run> "$@"`), so `./deploy.sh` and
`python job.py --x` receive them as before.

"Simple" is decided by a deliberately conservative syntactic test (`is_simple_command`): when it
is unsure, it says no, and the values are still there as `$1`.. for the script to use.
"""

from __future__ import annotations

import re

#: Characters that make a `run` more than one simple command (or that this test will not try to
#: read): control operators, redirections, subshells and groups, command substitution, comments,
#: quoting escapes, parameter braces, and line breaks.
UNSAFE_CHARACTERS = frozenset(";&|()<>{}`#\\\n\r")
#: Shell reserved words and `[[`: a `run` starting with one is a compound command.
RESERVED_WORDS = frozenset({
    "if", "then", "else", "elif", "fi", "for", "while", "until", "do", "done", "case", "esac", "in",
    "function", "select", "!", "{", "}", "[[", "]]", "time",
})
#: Builtins that read their arguments as shell text: appending values to them would splice
#: the values into code, so a `run` starting with one never gets them appended.
CODE_BUILTINS = frozenset({"eval", ".", "source", "trap", "alias"})
#: `$1`..`$9`, `$@`, `$*`, `$#` (and `${...}`, which the brace rule already excludes).
_POSITIONAL = re.compile(r"\$(?:[1-9@*#]|\{)")
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


def is_simple_command(run: str) -> bool:
    """Whether `run` is one simple command: one line with none of `UNSAFE_CHARACTERS`, a first
    word that is neither a reserved word nor a code-reading builtin, and at least one word that
    is not a variable assignment (so an appended value can never become the command name)."""
    text = run.strip()
    if not text or any(ch in UNSAFE_CHARACTERS for ch in text):
        return False
    words = text.split()
    first = words[0].strip("'\"")
    if first in RESERVED_WORDS or first in CODE_BUILTINS:
        return False
    command_words = [w for w in words if not _ASSIGNMENT.match(w)]
    if not command_words:
        return False
    return command_words[0].strip("'\"") not in CODE_BUILTINS | RESERVED_WORDS


def mentions_positional(run: str) -> bool:
    """Whether `run` reads positional parameters itself (`$1`..`$9`, `$@`, `$*`, `$#`, `${N}`)."""
    return _POSITIONAL.search(run) is not None


def appends_arguments(run: str) -> bool:
    """Whether the values are appended to `run` as arguments (`<run> "$@"`)."""
    return is_simple_command(run) and not mentions_positional(run)


def shell_argv(shell: str, run: str, task_name: str, values: tuple[str, ...] | list[str]) -> list[str]:
    """The argument vector that runs `run` with `values` (see the module docstring)."""
    script = f'{run.strip()} "$@"' if values and appends_arguments(run) else run
    return [shell, "-e", "-c", script, task_name, *values]
