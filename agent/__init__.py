"""ibagent: Cisco installed-base discovery, contract reconciliation and Smart Licensing reports.

The namespace of the stages, one sub-package each in data-flow order: ``core`` (the kernel),
``normalize``, ``store``, ``collect``, ``contracts``, ``reconcile``, ``reports``, ``slp``, ``demo``,
``cli``; ``parsers``, ``collectors`` and ``lab`` sit beside it.  Nothing lives here but the version,
so this package imports nothing; who may import whom is the table in docs/ARCHITECTURE.md.
"""

__version__ = "0.1.0"
