"""Stage: collect. Inventory -> targets (``inventory``), the asyncio scan engine that drives the
collectors per device with deadlines, retries and transport fallback and hands each device's
captures to normalisation and the store (``scan``), and the terminal progress line (``progress``);
outputs saved by hand split into pieces (``manual``) and stored as a ``manual`` collection by the
scan's rules (``manual_import``).

May import: ``agent.core``, ``collectors``, ``agent.normalize``, ``agent.store``.
"""
