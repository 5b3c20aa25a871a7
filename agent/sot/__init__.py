"""Stage: results into a source of truth (``ibagent export nautobot|netbox``).

``desired`` turns the store's fleet items and contract lines into what the target should hold,
``plan`` diffs that with what it holds (creates and updates only: never a delete), ``csv_files``
writes the CSV files the targets import, ``nautobot_api`` / ``netbox_api`` read and write through
pynautobot / pynetbox.  May import: ``agent.core`` and ``agent.collect`` (the bounded HTTP session
of ``agent/collect/sources/http_bounds.py``), never the store: the CLI hands the fleet in.
"""
