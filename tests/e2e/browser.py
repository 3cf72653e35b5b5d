"""Python side of ``web/browser-rpc.mjs``: a headless Debian Chromium driven by playwright-core.

Used by the browser tests (``tests/e2e/test_player.py``) and ``bench/startup.py``. Each
:class:`Page` lives in its own browser context (no cookies or cache shared between viewers).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
RPC = WEB / "browser-rpc.mjs"


def missing_requirements() -> str | None:
    """Why the browser cannot run here (None when it can)."""
    if shutil.which("node") is None:
        return "node is not installed"
    if not (WEB / "node_modules" / "playwright-core").is_dir():
        return "web/node_modules is missing: run `(cd web && npm ci)` (scripts/test does)"
    if chromium_path() is None:
        return "Debian chromium is not installed: apt-get install chromium (scripts/test does)"
    return None


def chromium_path() -> str | None:
    return (
        os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    )


class BrowserError(RuntimeError):
    pass


class Chromium:
    """One browser process; commands are answered in order."""

    def __init__(self, timeout: float = 120, flags: tuple[str, ...] = ()) -> None:
        self.timeout = timeout
        self._id = 0
        self._lock = threading.Lock()
        env = {**os.environ, "CHROMIUM": chromium_path() or "/usr/bin/chromium"}
        if flags:
            env["CHROMIUM_EXTRA_FLAGS"] = " ".join(flags)
        self.proc = subprocess.Popen(
            ["node", str(RPC)],
            cwd=WEB,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        hello = self._readline()
        if not hello.get("ready"):
            raise BrowserError(f"browser did not start: {hello}")
        self.version = hello.get("version")

    def _readline(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            err = self.proc.stderr.read() if self.proc.stderr else ""
            raise BrowserError(f"browser driver exited: {err[-3000:]}")
        return json.loads(line)

    def call(self, cmd: str, **args: Any) -> Any:
        with self._lock:
            self._id += 1
            assert self.proc.stdin is not None
            self.proc.stdin.write(json.dumps({"id": self._id, "cmd": cmd, **args}) + "\n")
            self.proc.stdin.flush()
            reply = self._readline()
        if not reply.get("ok"):
            raise BrowserError(f"{cmd} failed: {reply.get('error')}")
        return reply.get("result")

    def page(
        self, name: str, *, block_storage: bool = False, permissions: tuple[str, ...] = ()
    ) -> Page:
        """A page in a fresh context (a private window); ``block_storage``: web storage and
        ``document.cookie`` throw in every frame, as where a browser blocks them;
        ``permissions`` granted to every origin (e.g. ``clipboard-read``)."""
        self.call("newPage", page=name, blockStorage=block_storage, permissions=list(permissions))
        return Page(self, name)

    def now_ms(self) -> float:
        return self.call("now")

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.call("quit")
                self.proc.wait(10)
            except (BrowserError, OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> Chromium:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Page:
    def __init__(self, browser: Chromium, name: str) -> None:
        self.browser = browser
        self.name = name

    def _call(self, cmd: str, **args: Any) -> Any:
        return self.browser.call(cmd, page=self.name, **args)

    def goto(self, url: str) -> int | None:
        return self._call("goto", url=url)

    def click(self, selector: str, timeout_ms: int = 10000) -> float:
        return self._call("click", selector=selector, timeout=timeout_ms)

    def set_input_files(self, selector: str, *files: Path) -> None:
        self._call("setInputFiles", selector=selector, files=[str(f) for f in files])

    def eval(self, expr: str) -> Any:
        return self._call("eval", expr=expr)

    def frame_eval(self, frame: str, expr: str) -> Any:
        """``eval`` in the child frame whose URL contains ``frame``."""
        return self._call("frameEval", frame=frame, expr=expr)

    def wait_for(self, expr: str, timeout_s: float = 30, polling_ms: int = 100) -> Any:
        try:
            return self._call(
                "waitFor", expr=expr, timeout=int(timeout_s * 1000), polling=polling_ms
            )
        except BrowserError as exc:
            state = self.player_state()
            raise BrowserError(f"{exc}\nplayer state: {json.dumps(state)[:3000]}") from None

    def player_state(self) -> dict[str, Any]:
        return self.eval(
            """(() => { const s = window.vodstackPlayer || {}; const v = document.querySelector('video');
            return { ...Object.fromEntries(Object.entries(s).filter(([, x]) => typeof x !== 'function')),
                     currentTime: v?.currentTime, paused: v?.paused, ended: v?.ended,
                     readyState: v?.readyState,
                     decoded: v?.getVideoPlaybackQuality?.().totalVideoFrames,
                     mediaError: v?.error?.message || null }; })()"""
        )

    def throttle(self, kbps: float, latency_ms: int = 20) -> None:
        self._call("throttle", kbps=kbps, latencyMs=latency_ms)

    def unthrottle(self) -> None:
        self._call("throttle", kbps=0)

    def requests(self, since_ms: float = 0) -> list[dict[str, Any]]:
        return self._call("requests", since=since_ms)

    def add_cookies(self, cookies: list[dict[str, Any]]) -> None:
        """Playwright cookie dicts: name, value, domain, path (or url), ..."""
        self._call("addCookies", cookies=cookies)

    def cookies(self, *urls: str) -> list[dict[str, Any]]:
        return self._call("cookies", urls=list(urls))

    def route(
        self,
        pattern: str,
        *,
        method: str | None = None,
        fulfill: dict[str, Any] | None = None,
        cookie: str = "",
    ) -> None:
        """Answer requests matching the regex ``pattern`` (and ``method``) with ``fulfill``
        ({status, contentType, body}), or else with the server's answer to the same request
        sent with the Cookie header ``cookie`` instead of the page's."""
        self._call("route", pattern=pattern, method=method, fulfill=fulfill, cookie=cookie)

    def console(self) -> list[str]:
        return self._call("console")

    def screenshot(self, path: Path) -> Path:
        self._call("screenshot", path=str(path))
        return path

    def close(self) -> None:
        self._call("closePage")
