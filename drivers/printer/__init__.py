"""Ticket printer (ESC/POS): slip layouts, our own Chinese path, status, and a simulator."""
