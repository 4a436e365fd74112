"""Installs by role: the province's ledger server gets no Kivy, OpenCV or USB stack (`pip install .[ledger]`),
while a terminal's install has what the apps and devices need. pip resolves each for real (a dry run)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT

TERMINAL_ONLY = {"kivy", "opencv-python-headless", "pyusb", "pyserial", "python-escpos", "pyzbar"}


def resolved(extra: str, tmp_path: Path) -> set[str]:
    report = tmp_path / f"{extra}.json"
    out = subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
                          "--report", str(report), f".[{extra}]"], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    return {item["metadata"]["name"].lower() for item in json.loads(report.read_text())["install"]}


@pytest.mark.parametrize("role", ["ledger", "drill"])
def test_a_server_role_brings_no_terminal_stack(role: str, tmp_path: Path) -> None:
    names = resolved(role, tmp_path)
    assert "fastapi" in names and "cryptography" in names
    assert not names & TERMINAL_ONLY, names & TERMINAL_ONLY
    if role == "ledger":
        assert "psycopg" in names


def test_a_terminal_has_its_apps_and_devices(tmp_path: Path) -> None:
    names = resolved("terminal", tmp_path)
    assert {"kivy", "pyserial", "python-escpos", "qrcode", "pyzbar"} <= names
    assert "psycopg" not in names  # a kiosk talks to its hall, never to the ledger's database
