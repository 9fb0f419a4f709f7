"""Open a report page in headless Chromium (Debian's ``chromium``) and check it as a reader's browser shows it.

``check_page(html, screenshot)`` loads the file at 1280 px width through the DevTools protocol (``websockets``; no
Selenium/Playwright needed) and returns what it found: console errors and uncaught exceptions, images that did not
load, the page's scroll width (horizontal scrolling means something is wider than the window), and it saves a
full-page screenshot. Run as a script (``python tests/browser_check.py report.html shot.png``) it prints the
findings and exits 1 on any problem; ``.ci/run`` does that and keeps the screenshot as a CI artifact.
"""

from __future__ import annotations

import asyncio
import base64
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHECK_JS = """(() => {
  const imgs = Array.from(document.images);
  const broken = imgs.filter(i => !i.complete || i.naturalWidth === 0).map(i => i.getAttribute('src'));
  const doc = document.documentElement;
  return JSON.stringify({images: imgs.length, broken: broken, scrollWidth: doc.scrollWidth,
                         clientWidth: doc.clientWidth, title: document.title});
})()"""


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


async def _check(url: str, shot: Path, width: int, height: int, exe: str, timeout: float) -> dict:
    import websockets

    profile = Path(tempfile.mkdtemp(prefix="ce-chromium-"))
    proc = subprocess.Popen([exe, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                             "--remote-debugging-port=0", f"--user-data-dir={profile}",
                             f"--window-size={width},{height}", "about:blank"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        port_file = profile / "DevToolsActivePort"
        t0 = time.monotonic()
        while not port_file.exists() or not port_file.read_text().strip():
            if time.monotonic() - t0 > timeout or proc.poll() is not None:
                raise RuntimeError("chromium did not start (no DevToolsActivePort)")
            await asyncio.sleep(0.1)
        port = int(port_file.read_text().splitlines()[0])
        import urllib.request

        targets = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/json", timeout=10).read())
        page = next(t for t in targets if t.get("type") == "page")
        async with websockets.connect(page["webSocketDebuggerUrl"], max_size=2**28) as ws:
            ids = iter(range(1, 10**6))
            errors: list[str] = []
            pending: dict[int, asyncio.Future] = {}
            loaded = asyncio.Event()

            async def reader() -> None:
                async for raw in ws:
                    msg = json.loads(raw)
                    if "id" in msg and msg["id"] in pending:
                        pending.pop(msg["id"]).set_result(msg)
                    method, params = msg.get("method"), msg.get("params", {})
                    if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                        errors.append("console: " + " ".join(str(a.get("value", a.get("description", "")))
                                                             for a in params.get("args", [])))
                    elif method == "Runtime.exceptionThrown":
                        d = params.get("exceptionDetails", {})
                        errors.append("exception: " + str(d.get("exception", {}).get("description", d.get("text"))))
                    elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                        e = params["entry"]
                        errors.append(f"log: {e.get('text')} {e.get('url', '')}".strip())
                    elif method == "Page.loadEventFired":
                        loaded.set()

            async def call(method: str, **params) -> dict:
                i = next(ids)
                fut = asyncio.get_running_loop().create_future()
                pending[i] = fut
                await ws.send(json.dumps({"id": i, "method": method, "params": params}))
                res = await asyncio.wait_for(fut, timeout)
                if "error" in res:
                    raise RuntimeError(f"{method}: {res['error']}")
                return res.get("result", {})

            task = asyncio.create_task(reader())
            for domain in ("Page", "Runtime", "Log"):
                await call(f"{domain}.enable")
            await call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1,
                       mobile=False)
            await call("Page.navigate", url=url)
            await asyncio.wait_for(loaded.wait(), timeout)
            await asyncio.sleep(0.5)  # late console messages and image decoding
            found = json.loads((await call("Runtime.evaluate", expression=CHECK_JS, returnByValue=True))
                               ["result"]["value"])
            shot_data = await call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
            shot.parent.mkdir(parents=True, exist_ok=True)
            shot.write_bytes(base64.b64decode(shot_data["data"]))
            task.cancel()
        found["errors"] = errors
        found["width"] = width
        found["screenshot"] = str(shot)
        return found
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(profile, ignore_errors=True)


def check_page(html: str | Path, screenshot: str | Path, *, width: int = 1280, height: int = 900,
               timeout: float = 60.0) -> dict:
    """Load ``html`` in headless Chromium at ``width`` px; see the module docstring for what is returned."""
    exe = chromium()
    if exe is None:
        raise FileNotFoundError("chromium is not installed (Debian: apt-get install chromium)")
    url = Path(html).resolve().as_uri()
    return asyncio.run(_check(url, Path(screenshot), width, height, exe, timeout))


def problems(found: dict) -> list[str]:
    out = list(found["errors"])
    out += [f"image did not load: {src}" for src in found["broken"]]
    if found["scrollWidth"] > found["width"]:
        out.append(f"horizontal scroll: the page is {found['scrollWidth']} px wide at a {found['width']} px window")
    return out


if __name__ == "__main__":
    res = check_page(sys.argv[1], sys.argv[2])
    bad = problems(res)
    print(f"{sys.argv[1]}: {res['images']} images, scroll width {res['scrollWidth']} px at {res['width']} px, "
          f"screenshot {res['screenshot']}")
    for b in bad:
        print("  PROBLEM", b)
    sys.exit(1 if bad else 0)
