"""A call that has to survive, in two real Chromiums, for
BrowserInteropTests+Resilience.swift.

The pages are loaded through a small TCP proxy in this script, so that every
connection between the browsers and Samrom can be cut at once, as a network
change does (Chromium's offline emulation leaves WebSockets open). After the
usual start (call_steps: create, knock, admit, video both ways):

- `reload`: the deltaker reloads the page mid-call and comes straight back
  into the call with the resume token kept in the tab (no lobby, no knock);
  video flows again both ways.
- `cut`: every proxied connection is cut (TCP reset). Both pages say
  "Forbindelsen ble brutt. Kobler til igjen …", reconnect by themselves and
  say "Tilkoblet igjen."; frames keep being decoded. With `turnRestart` the
  script asks its caller (a JSON line `{"step": "cut"}`, answered on stdin)
  to restart coturn at that moment, so the relayed media path breaks too and
  the pages must restart ICE.

Prints one JSON line with what it saw.

    resilience_flow.py BASE_URL USERNAME PASSWORD OPTIONS_JSON
"""
import json
import socket
import struct
import sys
import threading
import time
from urllib.parse import urlparse

from selenium.webdriver.common.by import By

from call_steps import admit, create_consultation, knock, probe_rtc, rtc_stats, video_both_ways, wait_for_frames
from samrom_browser import axe, browser, resource_hosts, wait_for


class Proxy:
    """Forwards TCP connections from a local port to Samrom; `cut()` resets them all."""

    def __init__(self, target_port):
        self.target = ("127.0.0.1", target_port)
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.sockets = set()
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.sockets.update((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self.pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def pump(source, sink):
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        try:
            sink.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def cut(self):
        """Resets every connection (RST, no goodbye), as when the network goes away."""
        with self.lock:
            sockets, self.sockets = self.sockets, set()
        for sock in sockets:
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                sock.shutdown(socket.SHUT_RD)
            except OSError:
                pass
            sock.close()
        return len(sockets)


RECORD_ANNOUNCEMENTS = """
window.samromAnnouncements = [];
const region = document.querySelector('#status');
// Each announcement once: one said right after another is appended to it (lib/ui.js), so only the new part is kept.
let last = '';
new MutationObserver(() => {
  const now = region.textContent;
  window.samromAnnouncements.push(last && now.startsWith(last + ' ') ? now.slice(last.length + 1) : now);
  last = now;
})
  .observe(region, { childList: true, characterData: true, subtree: true });
"""

# The pure quality function of lib/rtc.js, on a table of measurements.
QUALITY_TABLE = """
const done = arguments[0];
import('/lib/rtc.js').then(({ connectionQuality }) => {
  const base = { connectionState: 'connected', bytesPerSecond: 200000, lossFraction: 0, roundTripSeconds: 0.02, framesPerSecond: 30 };
  const cases = {
    good: base,
    lossy: { ...base, lossFraction: 0.12 },
    slow: { ...base, roundTripSeconds: 0.9 },
    stutter: { ...base, framesPerSecond: 4 },
    cameraOff: { ...base, framesPerSecond: 0 },
    silent: { ...base, bytesPerSecond: 0 },
    disconnected: { ...base, connectionState: 'disconnected' },
    unknownLoss: { ...base, lossFraction: null, roundTripSeconds: null, framesPerSecond: null },
  };
  done(Object.fromEntries(Object.entries(cases).map(([name, sample]) => [name, connectionQuality(sample)])));
}).catch((e) => done({ error: String(e) }));
"""


def announcements(driver):
    return driver.execute_script("return window.samromAnnouncements || []")


def main():
    base, username, password = sys.argv[1:4]
    options = json.loads(sys.argv[4]) if len(sys.argv) > 4 else {}
    proxy = Proxy(urlparse(base).port)
    base = "https://localhost:%d" % proxy.port
    veileder = browser(media=True)
    deltaker = browser(media=True)
    probe_rtc(veileder)
    probe_rtc(deltaker)
    result = {"axe": [], "base": base}
    try:
        join_url = create_consultation(veileder, base, username, password, "Oppfølging uke 5", result, check=False)
        knock(deltaker, join_url, result, check=False)
        admit(veileder, result, check=False)
        video_both_ways(veileder, deltaker, result)
        result["start"] = {"veileder": wait_for_frames(veileder, 0), "deltaker": wait_for_frames(deltaker, 0)}
        for name, driver in (("veileder", veileder), ("deltaker", deltaker)):
            wait_for(driver, "return document.querySelector('.tile:not([data-self]) .quality').dataset.level === 'good'")
            result[name + "Quality"] = driver.execute_script("return document.querySelector('.tile:not([data-self]) .quality').textContent.trim()")
        result["qualityTable"] = deltaker.execute_async_script(QUALITY_TABLE)

        if options.get("reload"):
            frames = rtc_stats(veileder)["framesDecoded"]
            deltaker.refresh()
            wait_for(deltaker, "return document.body.dataset.state === 'call'")
            result["afterReload"] = {
                "status": deltaker.find_element(By.ID, "status").text,
                "deltaker": wait_for_frames(deltaker, 0),
                "veileder": wait_for_frames(veileder, frames + 10),
                "deltakerState": deltaker.execute_script("return document.body.dataset.state"),
            }
            result["axe"] += axe(deltaker, "deltaker: back in the call after a reload")

        if options.get("cut"):
            for driver in (veileder, deltaker):
                driver.execute_script(RECORD_ANNOUNCEMENTS)
            before = {"veileder": rtc_stats(veileder), "deltaker": rtc_stats(deltaker)}
            result["cutConnections"] = proxy.cut()
            if options.get("turnRestart"):
                print(json.dumps({"step": "cut"}), flush=True)
                if not sys.stdin.readline():
                    raise RuntimeError("the caller went away before restarting coturn")
            started = time.time()
            for driver in (veileder, deltaker):
                wait_for(driver, "return (window.samromAnnouncements || []).includes(%s)" % json.dumps("Tilkoblet igjen."), seconds=30)
            result["secondsToReconnect"] = round(time.time() - started, 2)
            result["axe"] += axe(veileder, "veileder: reconnected")
            result["axe"] += axe(deltaker, "deltaker: reconnected")
            after = {}
            for name, driver in (("veileder", veileder), ("deltaker", deltaker)):
                stats = before[name]
                # Frames keep coming: on the same connection, or on the one that replaced it.
                after[name] = wait_for_frames(driver, stats["framesDecoded"] + 10 if after_same(driver, stats) else 0, seconds=45)
                after[name]["announcements"] = announcements(driver)
                after[name]["state"] = driver.execute_script("return document.body.dataset.state")
            result["secondsToMediaAfterCut"] = round(time.time() - started, 2)
            result["beforeCut"] = before
            result["afterCut"] = after
            # ICE restarts are ICE: wait until both sides use the new credentials, if any.
            for name, driver in (("veileder", veileder), ("deltaker", deltaker)):
                wait_for(driver, "return document.querySelector('.tile:not([data-self]) .quality').dataset.level === 'good'", seconds=20)
                result[name + "QualityAfterCut"] = driver.execute_script("return document.querySelector('.tile:not([data-self]) .quality').textContent.trim()")
            # The call code is agreed again (a round begun over, or the one before, on both sides alike).
            deadline = time.time() + 20
            while time.time() < deadline:
                codes = [d.find_element(By.ID, "safety-code").text for d in (veileder, deltaker)]
                if codes[0] == codes[1] and all(code[:4].isdigit() for code in codes):
                    break
                time.sleep(0.2)
            result["callCodesAfterCut"] = codes

        result["resourceHosts"] = sorted(set(resource_hosts(veileder) + resource_hosts(deltaker)))
        print(json.dumps(result), flush=True)
        return 0
    except Exception as error:  # report what was seen so far
        result["error"] = repr(error)
        for name, driver in (("veileder", veileder), ("deltaker", deltaker)):
            try:
                result[name + "Seen"] = {"stats": rtc_stats(driver), "announcements": announcements(driver),
                                         "status": driver.find_element(By.ID, "status").text,
                                         "state": driver.execute_script("return document.body.dataset.state")}
            except Exception as inner:  # noqa: BLE001
                result[name + "Seen"] = repr(inner)
        print(json.dumps(result), flush=True)
        return 1
    finally:
        veileder.quit()
        deltaker.quit()


def after_same(driver, stats):
    """Whether the page still uses the peer connection `stats` came from."""
    return rtc_stats(driver).get("made") == stats.get("made")


if __name__ == "__main__":
    sys.exit(main())
