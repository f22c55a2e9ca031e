"""propdesk: the back office and client portal of a proprietary-trading firm."""

__version__ = "0.1.0"
