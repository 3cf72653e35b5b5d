"""The README's first command: `vodstack demo` prints a viewer token that plays."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import httpx
import pytest

from tests.conftest import TEST_LADDER
from tests.e2e.conftest import free_port
from vodstack.media import ffmpeg_exe

pytestmark = pytest.mark.slow


def test_demo_serves_an_entitled_stream(tmp_path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "VODSTACK_HOME": str(tmp_path / "home"),
        # keep CI fast: the small test ladder instead of 240p…1080p
        "VODSTACK_LADDER": json.dumps([r.model_dump() for r in TEST_LADDER]),
        "VODSTACK_X264_PRESET": "ultrafast",
    }
    out = open(tmp_path / "demo.out", "w+")  # noqa: SIM115 - the server writes it
    proc = subprocess.Popen(
        [sys.executable, "-m", "vodstack.cli", "demo", "--port", str(port)],
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 240
        text = ""
        while "serving on" not in text:
            assert proc.poll() is None, (tmp_path / "demo.out").read_text()
            assert time.monotonic() < deadline, text
            time.sleep(0.5)
            text = (tmp_path / "demo.out").read_text()
        asset = re.search(r"asset:\s+(\S+)", text).group(1)
        token = re.search(r"viewer token:\s+(\S+)", text).group(1)
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                httpx.get(f"{base}/healthz", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        player = re.search(r"player:\s+(\S+)", text).group(1)
        assert player == f"{base}/watch/{asset}#token={token}"
        page = httpx.get(player)  # the fragment stays in the browser
        assert page.status_code == 200 and 'id="vodstack-config"' in page.text
        # the demo turns the development sign-in on (loopback only): the page's sign-in box
        assert '"devSignIn":true' in page.text
        signin = httpx.post(f"{base}/dev/token", json={"subject": "demo-visitor"})
        assert signin.status_code == 200 and signin.json()["token"]
        r = httpx.post(f"{base}/play/{asset}", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200, r.text
        cookies = "\n".join(r.headers.get_list("set-cookie"))
        decoded = subprocess.run(
            [
                ffmpeg_exe(),
                "-hide_banner",
                "-cookies",
                cookies,
                "-i",
                r.json()["hls"],
                "-map",
                "0:v:0",
                "-f",
                "null",
                "-",
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert decoded.returncode == 0, decoded.stderr[-2000:]
        assert "frame=  600" in decoded.stderr  # 20 s × 30 fps sample
        # issue #16: the sample went the progressive way (the URLs come once it plays, then
        # the server's workers make the rest of the ladder)
        admin = re.search(r"admin token:\s+(\S+)", text).group(1)
        shown = httpx.get(
            f"{base}/api/assets/{asset}", headers={"Authorization": f"Bearer {admin}"}
        ).json()
        stages = shown["job"]["stages"]
        assert "first_window" in stages["stages"] and stages["ready_s"] > 0, stages
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(20)
