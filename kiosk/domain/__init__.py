"""Pure hall rules. Nothing here does I/O; the current time is always passed in."""
