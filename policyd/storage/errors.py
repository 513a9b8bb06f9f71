"""Domain errors: what went wrong, in the words of the domain, with no HTTP in sight.

Storage, the lottery and the daemon raise these; the web layer maps each kind to
a status in one table (web/errors.py), the CLI prints the message. `extra` holds
structured detail a client may use (e.g. `fields` of an invalid request).
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of the errors a caller can act on; `message` is a sentence for a person."""

    def __init__(self, message: str, **extra: Any):
        super().__init__(message)
        self.message = message
        self.extra = extra


class Refused(DomainError):
    """A request that cannot be done as asked (bad value, missing reason)."""


class Invalid(Refused):
    """A request whose named fields are wrong; `extra["fields"]` lists them."""


class NotFound(DomainError):
    """The thing named does not exist (a lead, a rep, a version)."""


class Conflict(DomainError):
    """The thing exists but is in a state that forbids the change (closed, already held)."""


class NotReady(DomainError):
    """Nothing can be decided yet (no active policy version)."""


class Unusable(DomainError):
    """A stored thing that cannot be used (a version with errors, a seed that fails its commitment)."""


class StoreError(DomainError):
    """The database file cannot be used (cannot be opened, not a policyd store), or a store operation fails."""


class StorageFailure(StoreError):
    """The database cannot be read or written just now (a disk I/O error, a full or read-only disk).

    Nothing asked for was done: the request may be retried once the disk is fixed.
    """
