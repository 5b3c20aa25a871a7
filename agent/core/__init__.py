"""The kernel: the record schema (``models``), the identity rules (``identity``), platform facts
as data (``platforms`` + ``platform_defs/``) and the secret redactor (``redact``).

Everything may import it; it imports nothing of ours (standard library and PyYAML only), so
``parsers``, ``collectors`` and ``lab`` depend on this package alone, and the reconcile stage
imports without the parsing stack (textfsm, lxml) installed.
"""
