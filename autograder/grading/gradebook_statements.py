"""nbgrader's SQL compiled once per worker process, not once per gradebook opening.

nbgrader opens a Gradebook (a new SQLAlchemy engine, with a new dialect object) about ten times per
submission. SQLAlchemy caches compiled statements per engine, keyed by the dialect object, so every
opening compiled nbgrader's queries again: a tenth of a second of each submission. The sqlite gradebooks
a worker opens (each submission's, the template's) are opened through `worker_gradebook_url`, whose
engine plugin gives all of them one cache, keyed by the kind of dialect (its class and the database's
version) instead of the object. Compiled statements hold no values (SQLAlchemy asserts it before
caching one), so nothing of one submission reaches another's gradebook.

Those gradebooks are scratch: a submission's copy is read back by its worker and thrown away, the
template is rebuilt when it is missing (and flushed to the disk once, when it is complete). Their
connections do not wait for the disk at every commit (`synchronous=OFF`, the rollback journal kept in
memory): nbgrader commits about thirty times per submission. The instructor's gradebook is never opened so.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.dialects import plugins
from sqlalchemy.engine import CreateEnginePlugin, Engine
from sqlalchemy.util import LRUCache

PLUGIN = "autograder_shared_statements"


class StatementsByDialectKind:
    """SQLAlchemy's compiled-statement cache (get / set by key), shared by dialects of one kind."""

    def __init__(self, size: int = 1000) -> None:
        self.compiled: LRUCache = LRUCache(size)

    @staticmethod
    def _kind(key: tuple) -> tuple:
        dialect, *rest = key
        return (type(dialect), getattr(dialect, "server_version_info", None), *rest)

    def get(self, key: tuple, default: Any = None) -> Any:
        return self.compiled.get(self._kind(key), default)

    def __setitem__(self, key: tuple, value: Any) -> None:
        self.compiled[self._kind(key)] = value

    def __len__(self) -> int:
        return len(self.compiled)


STATEMENTS = StatementsByDialectKind()


class SharedStatements(CreateEnginePlugin):
    """The engine plugin: every engine it is named in uses this process's shared statement cache."""

    def update_url(self, url):
        return url   # the plugin takes no arguments of its own

    def engine_created(self, engine: Engine) -> None:
        engine.update_execution_options(compiled_cache=STATEMENTS)


def _no_waiting_for_the_disk(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=OFF")
    cursor.execute("PRAGMA journal_mode=MEMORY")
    cursor.close()


class ScratchGradebook(CreateEnginePlugin):
    """The engine plugin of a scratch sqlite gradebook: commits that do not wait for the disk."""

    def update_url(self, url):
        return url

    def engine_created(self, engine: Engine) -> None:
        event.listen(engine, "connect", _no_waiting_for_the_disk)


SCRATCH_PLUGIN = "autograder_scratch_gradebook"
plugins.register(PLUGIN, __name__, "SharedStatements")
plugins.register(SCRATCH_PLUGIN, __name__, "ScratchGradebook")


def worker_gradebook_url(gradebook: Path) -> str:
    """The URL nbgrader opens a worker's sqlite gradebook by (scratch), its compiled statements shared."""
    return f"sqlite:///{gradebook}?plugin={PLUGIN}&plugin={SCRATCH_PLUGIN}"


def scratch_gradebook_url(gradebook: Path) -> str:
    """The URL of a sqlite gradebook being built, flushed to the disk once when it is complete."""
    return f"sqlite:///{gradebook}?plugin={SCRATCH_PLUGIN}"
