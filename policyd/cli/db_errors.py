"""A database that cannot be used, said in words: exit 2, the file named, what to do; never a traceback."""

from __future__ import annotations

import functools
import sqlite3

from .common import PolicydError, current_db


class StorageProblem(PolicydError):
    """The database cannot be used (damaged, not a database, empty, read-only, a full disk, served by another daemon): exit 2."""

    exit_code = 2


def storage_errors(fn):
    """Run a command; a storage error (or a stray sqlite3 one) becomes a StorageProblem in words."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from ..storage.db import explain
        from ..storage.errors import StoreError

        try:
            return fn(*args, **kwargs)
        except StoreError as err:
            raise StorageProblem(err.message) from None
        except sqlite3.Error as err:
            raise StorageProblem(explain(current_db(), err)) from None

    return wrapper
