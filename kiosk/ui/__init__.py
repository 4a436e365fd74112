"""Kivy apps: the citizen kiosk, the window terminal (counter), the duty desk and the display board.

The apps are thin listeners over the hall API and the device drivers; device I/O and HTTP run off the
UI thread and report back through the Kivy clock."""
