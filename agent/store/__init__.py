"""Stage: store. The store, on SQLite (a file, the default) or PostgreSQL (a ``postgresql://``
URL: ``backend_pg``, ``schema_pg``; ``backend_sqlite`` holds the file's side).  Its parts: schema and migrations (``schema``), the connection, lock and
device writes (``db``), fleet reads for reconcile, diff, history and true-up (``fleet``), the
device rows that ``ibagent devices`` and the demo print (``views``), the host keys trusted on
first use (``hostkeys``, mixed into ``Store``), every failed attempt for ``ibagent errors`` and
``devices --failed`` (``failures``) and the Smart Licensing report's bulk reads (``slp_reads``).
All of ibagent's SQL lives in this package.

May import only ``agent.core``: it stores and reads the kernel's records, and builds the
reconcile stage's inputs (also kernel records) without importing that stage.
"""
from agent.store.db import (  # noqa: F401  (the stage's public names)
    Store, StoreError, StoreLocked, StoreWriteError, inventory_read,
)
from agent.store.schema import DEFAULT_DB, SCHEMA_VERSION  # noqa: F401
from agent.store.backend_pg import (  # noqa: F401
    is_url as is_store_url, shown_url as shown_store, url_password as store_url_password,
    without_password as store_url_without_password,
)


def store_location(text):
    """What ``Store`` takes for a ``--db`` value: the URL as given, else a path."""
    from pathlib import Path

    return text if is_store_url(text) else Path(text)
