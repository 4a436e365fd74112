"""The offscreen tours: each app played through every screen with real touches, one PNG per screen.

They drive the production classes from outside; nothing here runs in a deployed hall."""
