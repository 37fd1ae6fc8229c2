"""How a daemon task's definition becomes the command executor's config, for every run and for
one run with request `params` (the argv rule itself is in `command_line`)."""

from __future__ import annotations

from typing import Any

from chalicelib.engine.model import Task
from chalicelib.faces.daemon import params as params_mod
from chalicelib.faces.daemon.command_line import shell_argv
from chalicelib.faces.daemon.names import name_of


def invocation_defaults(decls: tuple[params_mod.ParamDecl, ...]) -> params_mod.Invocation:
    """The invocation a scheduled run gets: every declared default."""
    return params_mod._invocation(decls, {d.identity: d.default for d in decls if d.default is not None})


def command_config(name: str, *, run: str, shell: str, working_dir: str | None, env: dict[str, str],
                   invocation: params_mod.Invocation) -> dict[str, Any]:
    """The command executor's config: `<shell> -e -c <run> <name> <values...>` (the rule is in
    `command_line`) and environment variables."""
    config: dict[str, Any] = {"args": shell_argv(shell, run, name, invocation.argv),
                              "env": {**env, **invocation.env}}
    if working_dir:
        config["working_dir"] = working_dir
    return config



def run_override(task: Task, supplied: dict[str, Any] | None) -> tuple[dict[str, Any], dict[str, str]]:
    """The executor override for a run with request `params` (argv and parameter env only, so
    secrets are not copied into the run), and the effective values the run reports."""
    doc = task.document or {}
    decls = params_mod.parse_declarations(doc.get("params"), location="params")
    invocation = params_mod.resolve(decls, supplied)
    config = command_config(name_of(task.task_id), run=doc.get("run") or "", shell=doc.get("shell") or "/bin/sh",
                            working_dir=None, env={}, invocation=invocation)
    return {"args": config["args"], "env": config["env"]}, invocation.values


