"""The supervisors' pages beyond the first wave's lists: the ranking by indicators, a page per hall, waits,
trends and the monthly 通报 (and the static files they use)."""

from __future__ import annotations

from fastapi import FastAPI

from kiosk.ledger.pages import common, hall, ranking, report, series


def mount(app: FastAPI, site: common.Site) -> None:
    common.mount_static(app)
    for module in (ranking, hall, series, report):
        module.mount(app, site)
