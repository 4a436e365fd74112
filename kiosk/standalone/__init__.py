"""The room above the others: it wires a hall service and an app (or the drill) into one process.

The embedded default (`kiosk app …` without `--hall`, `kiosk demo`), the demo and the drill's own hall live here, so
that `kiosk/ui`, `kiosk/sync` and `kiosk/drill` never import `kiosk/hall`: they speak to a hall only through
the contract (`kiosk/contract/client.py`), and only this room knows that the hall may be in the same process.
"""
