"""The seed key: the one secret behind every unrevealed period seed, kept outside the database.

A period's seed is HMAC-SHA256(key, "policyd period seed:" + period), so the database
holds only what verification needs (the commitment, and the seed once revealed).
Whoever can read the database, a backup of it or a decision row therefore learns
nothing that would let them grind a winning lead id before the reveal. The key lives
in its own file (`<db>.seed-key` beside the database, or `$POLICYD_SEED_KEY`),
created readable by its owner only; put it on another volume than the database's
backups for the strongest promise (docs/security.md).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from pathlib import Path

from ..storage.engines import is_url, redact

ENV = "POLICYD_SEED_KEY"
_KEY = re.compile(r"^[0-9a-f]{64}$")


class SeedKeyError(ValueError):
    """The key file is missing, unreadable or not a key; the message says what to do."""


def key_path(db_path: str | os.PathLike) -> Path:
    """Where the key of this database's seeds is: `$POLICYD_SEED_KEY`, else beside the database."""
    env = os.environ.get(ENV)
    if env:
        return Path(env)
    if is_url(db_path):
        raise SeedKeyError(
            f"a PostgreSQL database ({redact(db_path)}) has no folder to keep its seed key beside: set ${ENV} to the key file's path"
            " (the same file for every daemon serving it, on a volume apart from the database's backups)"
        )
    return Path(f"{os.fspath(db_path)}.seed-key")


def _read(path: Path) -> str:
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        raise SeedKeyError(
            f"the seed key {path} is missing: the seeds of committed, unrevealed periods cannot be drawn or revealed without it;"
            f" restore it from where you keep it (set ${ENV} to its path), or commit a new period"
        ) from None
    except (OSError, UnicodeDecodeError) as err:
        raise SeedKeyError(f"the seed key {path} cannot be read: {getattr(err, 'strerror', None) or err}") from None
    if not _KEY.match(text):
        raise SeedKeyError(f"{path} is not a seed key (expected 64 hexadecimal digits on one line)")
    return text


def load(db_path: str | os.PathLike) -> str:
    """The key of this database's seeds; SeedKeyError when it is not there."""
    return _read(key_path(db_path))


def load_or_create(db_path: str | os.PathLike) -> str:
    """The key, made on the first commit (owner-only file, created exclusively so two committers agree)."""
    path = key_path(db_path)
    if not path.exists():
        key = secrets.token_hex(32)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return _read(path)  # another committer made it first
        except OSError as err:
            raise SeedKeyError(f"cannot create the seed key {path}: {err.strerror}") from None
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(key + "\n")
            f.flush()
            os.fsync(f.fileno())
        return key
    return _read(path)


def period_seed(key: str, period: str) -> str:
    """The seed of `period` under `key`: what the draws use, and what `seed reveal` publishes."""
    return hmac.new(bytes.fromhex(key), f"policyd period seed:{period}".encode(), hashlib.sha256).hexdigest()
