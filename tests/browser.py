"""Headless Chromium driven over the DevTools protocol, so that a test fills a real form, keeps real cookies
and reads the page as rendered. (The --dump-dom command line cannot sign in: it has no form and no cookie.)"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import requests
from websockets.sync.client import connect

from tests.helpers import free_port


class Browser:
    def __init__(self, width: int = 1280, height: int = 900) -> None:
        self.profile = tempfile.mkdtemp(prefix="chromium-")
        self.stack = ExitStack()  # websockets wants its connection entered as a context; closed in close()
        port = free_port()
        self.proc = subprocess.Popen(
            ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--lang=zh-CN", f"--window-size={width},{height}",
             f"--remote-debugging-port={port}", "--remote-allow-origins=*", f"--user-data-dir={self.profile}",
             "about:blank"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        pages: list[dict[str, Any]] = []
        while time.monotonic() < deadline and not pages:
            try:
                pages = [t for t in requests.get(f"http://127.0.0.1:{port}/json", timeout=2).json() if t["type"] == "page"]
            except (requests.ConnectionError, ValueError):
                time.sleep(0.1)
        if not pages:
            self.close()
            raise RuntimeError("chromium did not start")
        self.ws = self.stack.enter_context(connect(pages[0]["webSocketDebuggerUrl"], max_size=None, open_timeout=30))
        self.next_id = 0
        self.problems: list[str] = []  # console errors, uncaught exceptions, CSP and load failures, as they come
        self.send("Page.enable")
        self.send("Runtime.enable")
        self.send("Log.enable")

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv(timeout=60))
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result
            self._note(message)

    def _note(self, message: dict[str, Any]) -> None:
        """Keep what a person would see in the browser's console as an error."""
        method, params = message.get("method"), message.get("params", {})
        if method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            self.problems.append(f"exception: {details.get('exception', {}).get('description') or details.get('text')}")
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            self.problems.append("console: " + " ".join(str(a.get("value", a.get("description", "")))
                                                      for a in params.get("args", [])))
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            entry = params["entry"]
            self.problems.append(f"log ({entry.get('source')}): {entry.get('text')} {entry.get('url', '')}")

    def eval(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        return result.get("result", {}).get("value")

    def wait_for(self, expression: str, timeout: float = 20) -> None:
        """Until the page says so (a loaded document, a path): bounded, never a fixed sleep."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.eval(expression):
                return
            time.sleep(0.05)
        raise AssertionError(f"the page never reached: {expression}")

    def goto(self, url: str) -> str:
        self.send("Page.navigate", url=url)
        self.wait_for("document.readyState === 'complete' && location.href !== 'about:blank'")
        return self.html()

    def html(self) -> str:
        return str(self.eval("document.documentElement.outerHTML"))

    def path(self) -> str:
        return str(self.eval("location.pathname"))

    def sign_in(self, base: str, login: str, password: str) -> str:
        """Type into the sign-in form and submit it, as a person would; the page that follows."""
        self.goto(f"{base}/login")
        self.eval(f"document.querySelector('input[name=login]').value = {json.dumps(login)};"
                  f"document.querySelector('input[name=password]').value = {json.dumps(password)};"
                  "document.querySelector('form.login').submit(); true")
        self.wait_for("document.readyState === 'complete' && !document.querySelector('form.login input[name=login]')"
                      " || document.querySelector('.error') !== null")
        return self.html()

    def screenshot(self, png: Path) -> None:
        png.parent.mkdir(parents=True, exist_ok=True)
        png.write_bytes(base64.b64decode(self.send("Page.captureScreenshot", format="png")["data"]))

    def close(self) -> None:
        try:
            self.stack.close()
        except Exception:  # noqa: BLE001 - closing a browser that may already be gone
            pass
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.profile, ignore_errors=True)
