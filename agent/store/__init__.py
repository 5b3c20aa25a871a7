"""Stage: store. The SQLite store: schema and migrations (``schema``), the connection, lock and
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
