"""ibagent: Cisco installed-base discovery, contract reconciliation and Smart Licensing reports."""

__version__ = "0.1.0"
