"""Keypairs: solana-keygen's file format, environment variables, and the 0600 atomic write."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from solders.keypair import Keypair

from onchain import keypairs
from onchain.keypairs import KeypairError, keypair_from_env, load_keypair, load_or_create, write_keypair


def _keygen_file(path: Path, keypair: Keypair) -> Path:
    """A file as solana-keygen writes it: the 64 bytes (seed then pubkey) as a JSON list of ints."""
    path.write_text(json.dumps(list(bytes(keypair))))
    return path


def test_reads_a_solana_keygen_file(tmp_path: Path) -> None:
    original = Keypair()
    loaded = load_keypair(_keygen_file(tmp_path / "id.json", original))
    assert loaded.pubkey() == original.pubkey()
    assert bytes(loaded) == bytes(original)


def test_written_file_is_keygen_format_and_owner_only(tmp_path: Path) -> None:
    original = Keypair()
    path = write_keypair(tmp_path / "nested" / "keeper-keypair.json", original)
    values = json.loads(path.read_text())
    assert isinstance(values, list) and len(values) == 64
    assert bytes(values[32:]) == bytes(original.pubkey())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_keypair(path).pubkey() == original.pubkey()


def test_load_or_create_generates_once_then_reuses(tmp_path: Path) -> None:
    path = tmp_path / "local-keypair.json"
    first = load_or_create(path)
    assert path.exists() and stat.S_IMODE(path.stat().st_mode) == 0o600
    again = load_or_create(path)
    assert again.pubkey() == first.pubkey()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["local-keypair.json"]  # no temp file left


def test_failed_write_leaves_neither_target_nor_temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(keypairs.os, "replace", refuse)
    with pytest.raises(OSError, match="disk full"):
        load_or_create(tmp_path / "k.json")
    assert list(tmp_path.iterdir()) == []


def test_failed_write_keeps_the_previous_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_keypair(tmp_path / "k.json", Keypair())
    before = path.read_bytes()
    monkeypatch.setattr(keypairs.os, "replace", lambda *_a: (_ for _ in ()).throw(OSError("boom")))
    with pytest.raises(OSError):
        write_keypair(path, Keypair())
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("[1, 2,", "not valid JSON"),
        ('{"secret": 1}', "got a JSON dict"),
        (json.dumps([1] * 63), "got 63 items"),
        (json.dumps([1] * 65), "got 65 items"),
        (json.dumps([256] + [1] * 63), "integer 0-255"),
        (json.dumps([True] + [1] * 63), "integer 0-255"),
        (json.dumps(list(bytes(Keypair()))[:32] + list(bytes(Keypair().pubkey()))), "not a valid ed25519"),
    ],
)
def test_bad_files_name_the_path_and_what_was_expected(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "broken.json"
    path.write_text(content)
    with pytest.raises(KeypairError, match=expected) as info:
        load_keypair(path)
    assert str(path) in str(info.value)


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(KeypairError, match="no such keypair file") as info:
        load_keypair(tmp_path / "absent.json")
    assert "absent.json" in str(info.value)


def test_env_holding_the_json(tmp_path: Path) -> None:
    original = Keypair()
    env = {"KEEPER_KEYPAIR": "  " + json.dumps(list(bytes(original))) + "\n"}
    assert keypair_from_env("KEEPER_KEYPAIR", env).pubkey() == original.pubkey()


def test_env_holding_a_path(tmp_path: Path) -> None:
    original = Keypair()
    path = _keygen_file(tmp_path / "payer.json", original)
    assert keypair_from_env("PAYER", {"PAYER": str(path)}).pubkey() == original.pubkey()


def test_env_defaults_to_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    original = Keypair()
    monkeypatch.setenv("MQ_TEST_KEYPAIR", json.dumps(list(bytes(original))))
    assert keypair_from_env("MQ_TEST_KEYPAIR").pubkey() == original.pubkey()


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, r"\$KEEPER is not set"),
        ({"KEEPER": "   "}, r"\$KEEPER is not set"),
        ({"KEEPER": "[1, 2, 3]"}, r"\$KEEPER: expected a JSON list of 64 integers 0-255, got 3 items"),
        ({"KEEPER": "/nowhere/keeper.json"}, r"\$KEEPER -> /nowhere/keeper.json: no such keypair file"),
    ],
)
def test_env_errors_name_the_variable(env: dict[str, str], expected: str) -> None:
    with pytest.raises(KeypairError, match=expected):
        keypair_from_env("KEEPER", env)


def test_the_secret_never_lands_world_readable_even_briefly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The temp file is 0600 before any byte of the secret is written (not chmod-ed afterwards only)."""
    modes: list[int] = []
    real_fdopen = os.fdopen

    def spy(fd: int, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        modes.append(stat.S_IMODE(os.fstat(fd).st_mode))
        return real_fdopen(fd, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(keypairs.os, "fdopen", spy)
    write_keypair(tmp_path / "k.json", Keypair())
    assert modes == [0o600]


def test_the_command_prints_public_keys_and_creates_missing_files(tmp_path, capsys) -> None:
    from onchain.keypairs import main

    target = tmp_path / "keys" / "keeper-keypair.json"
    main([str(target)])
    main([str(target)])
    first, second = capsys.readouterr().out.splitlines()
    assert first == second and first.split()[0] == str(load_keypair(target).pubkey())
