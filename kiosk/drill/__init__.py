"""Simulated hall days played through the hall API (``kiosk drill``), and their report."""
