"""Headless Chromium driven over the DevTools protocol on a pipe (--remote-debugging-pipe:
JSON messages separated by NUL bytes on file descriptors 3 and 4), with the standard
library only. Lets a test ask the page itself what rendered, wait for it and take a
screenshot::

    with ChromiumPage(chromium_executable(), tmp_path / "profile") as page:
        page.open(report.as_uri())
        assert page.wait_for("document.querySelectorAll('svg path').length") > 0
        page.screenshot(tmp_path / "report.png")
        assert page.errors == []

For a page whose script needs no waiting, `chromium --headless --dump-dom
--virtual-time-budget=MS URL` (with CHROMIUM_FLAGS) prints the DOM after the scripts ran,
and `--screenshot=PATH --window-size=W,H` saves a PNG."""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import subprocess
import time
from pathlib import Path
from typing import Any

from tests.services import CHROMIUM_FLAGS


class ChromiumError(RuntimeError):
    pass


class ChromiumPage:
    """One browser with one tab. `errors` collects the page's uncaught JS exceptions,
    `requests` the URL of every request the page made (the document's own included)."""

    def __init__(self, executable: str, profile: Path, width: int = 1280, height: int = 900):
        profile.mkdir(parents=True, exist_ok=True)
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        # The browser reads fd 3 and writes fd 4: bash moves the pipe ends there (from fds
        # >= 10, so that the moves cannot clobber each other) and execs the browser; no
        # preexec_fn, which is unsafe in a process with threads.
        ends = [fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in (to_browser_r, from_browser_w)]
        os.close(to_browser_r)
        os.close(from_browser_w)
        script = 'exec "$0" "$@" 3<&{0} 4>&{1} {0}<&- {1}>&-'.format(*ends)
        argv = [
            "/bin/bash",
            "-c",
            script,
            executable,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
        ]
        argv += [f"--window-size={width},{height}", "--remote-debugging-pipe", "about:blank"]
        self._proc = subprocess.Popen(
            argv,
            pass_fds=ends,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for fd in ends:
            os.close(fd)
        self._buffer = b""
        self._next_id = 0
        self._session: str | None = None
        self.errors: list[str] = []
        self.requests: list[str] = []
        self._viewport = (width, height)

    def __enter__(self) -> ChromiumPage:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _read_message(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._from_browser], [], [], left)[0]:
                raise ChromiumError("Chromium did not answer in time")
            chunk = os.read(self._from_browser, 1 << 16)
            if not chunk:
                raise ChromiumError(f"Chromium exited (status {self._proc.poll()})")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        message: dict[str, Any] = json.loads(raw)
        return message

    def call(self, method: str, timeout: float = 60, **params: Any) -> dict[str, Any]:
        """Send one protocol command (to the tab once `open` attached it); its result."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        if self._session is not None and not method.startswith(("Target.", "Browser.")):
            message["sessionId"] = self._session
        try:
            os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        except BrokenPipeError:
            raise ChromiumError(f"Chromium exited (status {self._proc.poll()})") from None
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("method") == "Runtime.exceptionThrown":
                details = reply["params"]["exceptionDetails"]
                self.errors.append(
                    details.get("exception", {}).get("description") or details["text"]
                )
            if reply.get("method") == "Network.requestWillBeSent":
                self.requests.append(reply["params"]["request"]["url"])
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise ChromiumError(f"{method}: {reply['error'].get('message')}")
                result: dict[str, Any] = reply.get("result", {})
                return result

    def open(self, url: str) -> None:
        """Open url in a new tab and wait for its load event."""
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        attached = self.call("Target.attachToTarget", targetId=target, flatten=True)
        self._session = attached["sessionId"]
        self.call("Runtime.enable")
        self.call("Page.enable")
        self.call("Network.enable")
        width, height = self._viewport
        self.call(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=False,
        )
        self.call("Page.navigate", url=url)
        self.wait_for("document.readyState === 'complete'")

    def evaluate(self, expression: str) -> Any:
        """The value of a JS expression in the page (promises are awaited)."""
        result = self.call(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in result:
            raise ChromiumError(f"{expression}: {result['exceptionDetails'].get('text')}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 30) -> Any:
        """Poll a JS expression until it is truthy; its value (falsy after the timeout)."""
        deadline = time.monotonic() + timeout
        value = self.evaluate(expression)
        while not value and time.monotonic() < deadline:
            time.sleep(0.05)
            value = self.evaluate(expression)
        return value

    def screenshot(self, path: Path, full_page: bool = False) -> Path:
        """A PNG of the viewport (width x height), or of the whole page with full_page."""
        data = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=full_page)
        path.write_bytes(base64.b64decode(data["data"]))
        return path

    def close(self) -> None:
        if self._proc.poll() is None:
            try:
                self.call("Browser.close", timeout=10)
            except ChromiumError:
                pass
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        for fd in (self._to_browser, self._from_browser):
            try:
                os.close(fd)
            except OSError:
                pass
