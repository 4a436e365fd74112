"""Opening serial ports by path or pyserial URL, with an error a technician can act on."""

from __future__ import annotations

import termios

import serial

from drivers.errors import DeviceAbsent

# What a serial port raises when its adapter is pulled out or its pseudo-terminal vanishes.
PORT_GONE = (serial.SerialException, OSError, termios.error)


def close_serial(port: serial.SerialBase | None) -> None:
    """Closing a port whose adapter was pulled out raises; the driver is giving it up anyway, and reopens on
    its next use."""
    if port is not None:
        try:
            port.close()
        except PORT_GONE:
            pass


def open_serial(url: str, baudrate: int, timeout: float) -> serial.SerialBase:
    try:
        return serial.serial_for_url(url, baudrate=baudrate, timeout=timeout, write_timeout=max(timeout, 1.0))
    except (serial.SerialException, OSError, ValueError) as exc:
        raise DeviceAbsent(
            f"无法打开串口 {url}：设备未连接、路径错误或没有权限（可将用户加入 dialout 组）。",
            f"Cannot open serial port {url}: unplugged, wrong path or no permission (add the user to dialout). "
            f"({exc.__class__.__name__})",
        ) from None
