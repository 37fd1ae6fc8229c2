"""requirements.txt (what Chalice vendors into the Lambda package) follows pyproject.toml."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: Runtime dependencies the Lambda platform provides, so the package does not carry them.
PROVIDED_BY_THE_PLATFORM = {"chalice", "boto3"}
_NAME = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(.*)$")


def packaged_dependencies() -> list[str]:
    """The normalised names of the runtime dependencies the Lambda package must carry."""
    return sorted(name for name in pyproject_runtime() if name not in PROVIDED_BY_THE_PLATFORM)


def _requirement(line: str) -> tuple[str, str]:
    """(normalised name, specifier with spaces removed) of a requirement line."""
    text = line.split("#", 1)[0].strip()
    match = _NAME.match(text)
    assert match, f"not a requirement: {line!r}"
    return re.sub(r"[-_.]+", "-", match.group(1)).lower(), re.sub(r"\s+", "", match.group(2))


def pyproject_runtime() -> dict[str, str]:
    """pyproject.toml's runtime dependencies: normalised name -> specifier."""
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return dict(_requirement(line) for line in data["project"]["dependencies"])


def _requirements_txt() -> dict[str, str]:
    lines = (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
    pairs = [_requirement(line) for line in lines if line.split("#", 1)[0].strip()]
    names = [name for name, _ in pairs]
    assert len(names) == len(set(names)), f"a requirement is listed twice: {names}"
    return dict(pairs)


def test_requirements_txt_lists_every_runtime_dependency_with_the_same_pin():
    expected = {name: spec for name, spec in pyproject_runtime().items() if name not in PROVIDED_BY_THE_PLATFORM}
    assert _requirements_txt() == expected


def test_no_development_tool_reaches_the_package():
    assert not {"moto", "pytest", "cfn-lint", "ruff", "requests"} & set(_requirements_txt())


def test_what_the_platform_provides_is_still_a_runtime_dependency():
    # If pyproject stops listing them, the exclusion above would hide nothing and should go.
    assert PROVIDED_BY_THE_PLATFORM <= set(pyproject_runtime())
