"""The duty desk (值班台): reports, follow-ups, the audit and the hall's load (``app``); ``tour`` plays it."""
