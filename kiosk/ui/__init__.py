"""Kivy apps: the citizen kiosk (and, later, the counter, duty desk and display board).

The apps are thin listeners over the hall API and the device interfaces; device I/O and
HTTP run off the UI thread and report back through the Kivy clock."""
