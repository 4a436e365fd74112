"""The kiosk's flows: each owns its state and its screens, and wipes them in ``reset()``.

The shell (kiosk/app.py, KioskApp) navigates, shows messages, runs the idle timer and holds the catalog;
a flow asks it for those through the small ``Shell`` protocol and never reaches into another flow:
where one flow leads into another (a scanned ticket to its rating), the shell wires a callback.
"""
