"""Solana keypairs from solana-keygen files or environment variables, and a local one made on demand.

The file format is solana-keygen's: a JSON list of 64 integers (the 32-byte secret seed followed by
the 32-byte public key). Keypairs are secrets: they are never committed (`.gitignore` has
`*keypair*.json`), and the one `load_or_create` writes is readable by its owner only. Every error
names where the keypair came from and what was expected, since "invalid keypair" alone sends
whoever runs the nightly job hunting through paths and variables.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Mapping
from pathlib import Path

from solders.keypair import Keypair

from models.atomic import write_atomically

KEYPAIR_LENGTH = 64


class KeypairError(ValueError):
    """A keypair could not be read: the message names the source and what was expected."""


def parse_keypair(text: str, source: str) -> Keypair:
    """Parse solana-keygen JSON; `source` names the file or variable for the error message."""
    try:
        values = json.loads(text)
    except json.JSONDecodeError as exc:
        raise KeypairError(
            f"{source}: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno}); "
            f"expected a solana-keygen keypair, a JSON list of {KEYPAIR_LENGTH} integers 0-255"
        ) from None
    if not isinstance(values, list):
        raise KeypairError(
            f"{source}: expected a JSON list of {KEYPAIR_LENGTH} integers 0-255, "
            f"got a JSON {type(values).__name__}"
        )
    if len(values) != KEYPAIR_LENGTH:
        raise KeypairError(
            f"{source}: expected a JSON list of {KEYPAIR_LENGTH} integers 0-255, got {len(values)} items"
        )
    # bool is an int subclass: `true` in a key file is a mistake, not a 1.
    if not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 255 for v in values):
        raise KeypairError(f"{source}: every item must be an integer 0-255")
    try:
        return Keypair.from_bytes(bytes(values))
    except ValueError as exc:
        # The second half must be the public key of the first: a file spliced from two keys fails here.
        raise KeypairError(f"{source}: not a valid ed25519 keypair ({exc})") from None


def load_keypair(path: str | os.PathLike[str]) -> Keypair:
    """Read a solana-keygen keypair file (`~` is expanded)."""
    resolved = Path(path).expanduser()
    try:
        text = resolved.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise KeypairError(f"{resolved}: no such keypair file") from None
    except OSError as exc:
        raise KeypairError(f"{resolved}: cannot read keypair file ({exc.strerror})") from None
    return parse_keypair(text, str(resolved))


def keypair_from_env(variable: str, environ: Mapping[str, str] | None = None) -> Keypair:
    """Read a keypair from an environment variable holding either the JSON itself or a file path.

    Secrets stores inject the JSON, local shells usually point at a file; a value that starts with
    `[` is taken as the JSON, anything else as a path.
    """
    env = os.environ if environ is None else environ
    value = env.get(variable)
    if value is None or not value.strip():
        raise KeypairError(
            f"${variable} is not set; expected a keypair file path or the keypair JSON "
            f"(a list of {KEYPAIR_LENGTH} integers)"
        )
    value = value.strip()
    if value.startswith("["):
        return parse_keypair(value, f"${variable}")
    try:
        return load_keypair(value)
    except KeypairError as exc:
        raise KeypairError(f"${variable} -> {exc}") from None


def write_keypair(path: str | os.PathLike[str], keypair: Keypair) -> Path:
    """Write `keypair` atomically with mode 0600: a reader sees no file or the whole file, never half."""
    target = Path(path).expanduser()
    # mkstemp creates the temporary file 0600, so the secret is never briefly world-readable.
    write_atomically(target, lambda handle: handle.write(keypair.to_json().encode("utf-8")))
    return target


def load_or_create(path: str | os.PathLike[str]) -> Keypair:
    """The keypair at `path`, generating and saving a new one first if there is none (local use only).

    Two processes creating the same missing file at once would each write their own key and the
    later one wins; the keeper runs one at a time, so that race is not guarded against.
    """
    target = Path(path).expanduser()
    if target.exists():
        return load_keypair(target)
    keypair = Keypair()
    write_keypair(target, keypair)
    return keypair


def main(argv: list[str] | None = None) -> None:
    """`python -m onchain.keypairs PATH...`: print each keypair's public key, generating missing ones."""
    parser = argparse.ArgumentParser(prog="python -m onchain.keypairs", description=main.__doc__)
    parser.add_argument("paths", nargs="+", type=Path)
    for path in parser.parse_args(argv).paths:
        print(f"{load_or_create(path).pubkey()}  {path}")


if __name__ == "__main__":
    main()
