"""Device drivers and their simulators. A simulator speaks the device's real wire protocol
(over a pseudo-terminal for serial devices), so the real driver and parser are what tests
exercise. Drivers never import the UI; the domain never imports drivers."""
