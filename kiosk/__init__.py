"""Registry hall product: kiosks, counters, the hall queue service and the central ledger."""

__version__ = "0.1.0"
