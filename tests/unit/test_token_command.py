"""`tasklane token`: the development token a user pastes into a client."""

from __future__ import annotations

import os
import subprocess
import sys

import jwt
import pytest

from chalicelib.cli import main
from chalicelib.identity import verify_token

SECRET = "a-development-secret-of-enough-length"


def claims(token: str) -> dict:
    return jwt.decode(token, SECRET, algorithms=["HS256"])


def test_the_token_is_signed_with_the_secret_from_the_environment(monkeypatch, capsys):
    monkeypatch.setenv("TASKLANE_JWT_SECRET", SECRET)
    assert main(["token", "--tenant", "acme", "--user", "ada"]) == 0
    principal = verify_token(SECRET, capsys.readouterr().out.strip())
    assert (principal.tenant, principal.user_id) == ("acme", "ada")


def test_the_secret_flag_wins_over_the_environment(monkeypatch, capsys):
    monkeypatch.setenv("TASKLANE_JWT_SECRET", "another-secret-that-must-not-sign-it")
    assert main(["token", "--tenant", "acme", "--user", "ada", "--secret", SECRET]) == 0
    assert claims(capsys.readouterr().out.strip())["sub"] == "ada"


def test_the_lifetime_actor_kind_and_session_become_claims(capsys):
    assert main(["token", "--tenant", "acme", "--user", "bot", "--secret", SECRET, "--ttl", "90",
                 "--actor-kind", "agent", "--session", "s-1"]) == 0
    token = claims(capsys.readouterr().out.strip())
    assert token["exp"] - token["iat"] == 90
    assert (token["actor_kind"], token["session"]) == ("agent", "s-1")


def test_the_default_lifetime_is_twelve_hours_and_no_agent_claims(capsys):
    assert main(["token", "--tenant", "acme", "--user", "ada", "--secret", SECRET]) == 0
    token = claims(capsys.readouterr().out.strip())
    assert token["exp"] - token["iat"] == 12 * 3600
    assert "actor_kind" not in token and "session" not in token


def test_without_a_secret_it_exits_2_naming_the_variable(monkeypatch, capsys):
    monkeypatch.delenv("TASKLANE_JWT_SECRET", raising=False)
    assert main(["token", "--tenant", "acme", "--user", "ada"]) == 2
    out = capsys.readouterr()
    assert out.out == ""
    assert out.err == "error: TASKLANE_JWT_SECRET: a signing secret is required\n"


@pytest.mark.parametrize(("flags", "field"), [
    (["--tenant", "no spaces allowed", "--user", "ada"], "tenant"),
    (["--tenant", "acme", "--user", ""], "user"),
])
def test_a_bad_tenant_or_user_exits_2_naming_the_field(capsys, flags, field):
    assert main(["token", "--secret", SECRET, *flags]) == 2
    out = capsys.readouterr()
    assert out.out == "" and out.err.startswith(f"error: {field}: ")


def test_the_command_prints_a_token_from_a_fresh_process():
    env = {**os.environ, "TASKLANE_JWT_SECRET": SECRET}
    done = subprocess.run([sys.executable, "-m", "chalicelib.cli", "token", "--tenant", "acme", "--user", "ada",
                           "--role", "operator"], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert verify_token(SECRET, done.stdout.strip()).roles == ("operator",)


def test_the_secret_kept_in_the_data_directory_signs_when_nothing_else_is_given(monkeypatch, tmp_path, capsys):
    from chalicelib.runtime.local import _kept_secret

    monkeypatch.delenv("TASKLANE_JWT_SECRET", raising=False)
    kept = _kept_secret(tmp_path / "jwt.secret")
    assert _kept_secret(tmp_path / "jwt.secret") == kept  # made once, read back after
    assert (tmp_path / "jwt.secret").stat().st_mode & 0o777 == 0o600
    assert main(["token", "--tenant", "acme", "--user", "ada", "--data-dir", str(tmp_path)]) == 0
    assert verify_token(kept, capsys.readouterr().out.strip()).tenant == "acme"
