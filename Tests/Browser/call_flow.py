"""Two real Chromiums in a Samrom call, for BrowserCallTests.swift.

The veileder logs in and creates a consultation from the page, opens it over
/ws (protocol.js, rtc.js) and admits the deltaker, who joins through the real
join page (/j/#TOKEN) by clicking through it as a person would; both send fake
camera video over a real peer-to-peer WebRTC connection negotiated through
Samrom's signalling. Prints one JSON line with what each side saw.

    call_flow.py BASE_URL USERNAME PASSWORD
"""
import json
import sys
import time

from selenium.webdriver.common.by import By

from samrom_browser import browser, resource_hosts

DELTAKER_PAGE = """
const remote = document.querySelector('#remote');
return { state: document.body.dataset.state, remoteVideoWidth: remote ? remote.videoWidth : 0,
         status: document.querySelector('#status').textContent };
"""


def wait_for(driver, condition, seconds=15):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if driver.execute_script(condition):
            return
        time.sleep(0.05)
    raise RuntimeError("timed out waiting for: " + condition)

SETUP = """
const [role, credential, done] = arguments;
(async () => {
  const { SignallingClient } = await import('/lib/protocol.js');
  const { Call } = await import('/lib/rtc.js');
  const client = new SignallingClient();
  const state = { role, events: [], call: null, connection: 'new', remote: false };
  window.samrom = { client, state };
  for (const type of ['lobby', 'knock', 'admitted', 'peer-joined', 'peer-left', 'error', 'closed']) {
    client.addEventListener(type, (e) => state.events.push({ type, detail: e.detail }));
  }
  const stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
  const start = () => {
    if (state.call) return;
    state.call = new Call(client, { polite: role === 'deltaker', iceServers: client.welcome.iceServers, stream });
    state.call.addEventListener('state', (e) => { state.connection = e.detail; });
    state.call.addEventListener('remote-stream', () => { state.remote = true; });
  };
  client.addEventListener('peer-joined', start);
  const welcome = await client.connect(credential);
  done({ welcome: { you: welcome.you, iceServers: welcome.iceServers } });
})().catch((e) => done({ error: String(e && e.stack || e) }));
"""

LOGIN_AND_CREATE = """
const [username, password, done] = arguments;
(async () => {
  const login = await fetch('/api/session', { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username, password }) });
  if (login.status !== 204) throw new Error('login ' + login.status);
  const created = await fetch('/api/consultations', { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ title: 'Oppfølging' }) });
  if (created.status !== 201) throw new Error('create ' + created.status);
  done(await created.json());
})().catch((e) => done({ error: String(e && e.stack || e) }));
"""

STATUS = """
const done = arguments[0];
(async () => {
  const { state } = window.samrom;
  const video = state.call ? await state.call.inboundVideo() : null;
  done({ events: state.events.map((e) => e.type), connection: state.connection, remote: state.remote, video });
})().catch((e) => done({ error: String(e && e.stack || e) }));
"""


def run(driver, script, *args):
    result = driver.execute_async_script(script, *args)
    if isinstance(result, dict) and "error" in result:
        raise RuntimeError(result["error"])
    return result


def main():
    base, username, password = sys.argv[1:4]
    veileder = browser(media=True)
    deltaker = browser(media=True)
    try:
        veileder.get(base + "/")
        created = run(veileder, LOGIN_AND_CREATE, username, password)
        run(veileder, SETUP, "veileder", {"consultation": created["id"]})

        # The deltaker clicks through the join page: check devices, go to the lobby.
        deltaker.get(created["joinUrl"])
        wait_for(deltaker, "return document.body.dataset.state === 'welcome' && !!document.querySelector('#check-devices')")
        deltaker.find_element(By.ID, "check-devices").click()
        wait_for(deltaker, "return document.querySelector('#preview').videoWidth > 0")
        deltaker.find_element(By.ID, "join").click()
        wait_for(deltaker, "return document.body.dataset.state === 'lobby'")
        lobby_text = deltaker.find_element(By.CSS_SELECTOR, "[data-view=lobby]").text

        # The veileder sees the knock and lets the deltaker in.
        deadline = time.time() + 15
        knock = None
        while time.time() < deadline and knock is None:
            knock = veileder.execute_script(
                "return (window.samrom.state.events.find(e => e.type === 'knock') || {}).detail || null")
            time.sleep(0.05)
        if knock is None:
            raise RuntimeError("no knock reached the veileder")
        veileder.execute_script("window.samrom.client.admit(arguments[0])", knock["participant"])

        # Wait until video flows both ways: stats on the veileder's side, the
        # playing remote video on the deltaker's page.
        started = time.time()
        sides = {}
        while time.time() - started < 30:
            sides = {"veileder": run(veileder, STATUS), "deltaker": deltaker.execute_script(DELTAKER_PAGE)}
            if (sides["veileder"]["connection"] == "connected" and sides["veileder"]["video"]
                    and sides["veileder"]["video"]["framesDecoded"] > 0 and sides["deltaker"]["remoteVideoWidth"] > 0):
                break
            time.sleep(0.2)
        sides["secondsToMedia"] = round(time.time() - started, 2)
        sides["deltaker"]["lobbyText"] = lobby_text

        # The deltaker leaves with the button; the veileder is told, the page says goodbye.
        deltaker.find_element(By.ID, "leave").click()
        sides["deltaker"]["afterLeave"] = deltaker.execute_script("return document.body.dataset.state")
        deadline = time.time() + 10
        left = False
        while time.time() < deadline and not left:
            left = veileder.execute_script("return window.samrom.state.events.some(e => e.type === 'peer-left')")
            time.sleep(0.05)
        sides["veilederSawPeerLeft"] = left
        sides["resourceHosts"] = sorted(set(resource_hosts(veileder) + resource_hosts(deltaker)))
        print(json.dumps(sides), flush=True)
        return 0
    finally:
        veileder.quit()
        deltaker.quit()


if __name__ == "__main__":
    sys.exit(main())
