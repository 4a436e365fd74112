"""Resident ID card reader (二代证 SAM, GA/T 467 framing): protocol, driver, simulator."""
