"""The window terminal's flows: each owns its state and reports to the clerk through the small ``Shell``
protocol (shell.py); the app shell (counter/app.py) only wires them."""
