"""Typed device errors. Each carries a sentence a technician can act on, in Chinese and English."""

from __future__ import annotations

from kiosk.domain.errors import KioskError


class DeviceError(KioskError):
    def __init__(self, message: str, message_en: str) -> None:
        super().__init__(message_en)
        self.message = message
        self.message_en = message_en

    def __str__(self) -> str:
        return f"{self.message} / {self.message_en}"


class DeviceAbsent(DeviceError):
    """The port cannot be opened: unplugged, wrong path, or no permission."""


class DeviceTimeout(DeviceError):
    """The device did not answer in time."""


class ProtocolError(DeviceError):
    """The device answered, but not in its protocol: noise, wrong baud rate, wrong device."""
