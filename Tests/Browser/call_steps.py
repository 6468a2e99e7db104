"""The steps of a two-browser call, shared by call_flow.py and resilience_flow.py.

Each step clicks through the real pages like a person would, records what it
saw in `result`, and (with `check=True`) runs axe-core on every screen it
passes through, adding serious or critical violations to `result["axe"]`.
"""
import time

from selenium.webdriver.common.by import By

from samrom_browser import axe, open_login, submit_login, wait_for

# Kept by each page for the tests: every RTCPeerConnection it made (a wrapper
# installed before any page script runs, so it survives reloads). The pages
# themselves expose nothing.
RTC_PROBE = """
(() => {
  const Native = window.RTCPeerConnection;
  if (!Native || Native.samromProbe) return;
  const list = [];
  function Probe(...args) { const pc = new Native(...args); list.push(pc); return pc; }
  Probe.prototype = Native.prototype;
  Object.setPrototypeOf(Probe, Native);
  Probe.samromProbe = true;
  window.RTCPeerConnection = Probe;
  window.samromPeerConnections = list;
})();
"""

# What the newest open peer connection receives, and how it is connected.
RTC_STATS = """
const done = arguments[0];
const all = window.samromPeerConnections || [];
const open = all.filter((pc) => pc.connectionState !== 'closed');
const pc = open[open.length - 1];
if (!pc) { done({ made: all.length }); return; }
pc.getStats().then((stats) => {
  const out = { made: all.length, state: pc.connectionState, policy: pc.getConfiguration().iceTransportPolicy,
    framesDecoded: 0, bytesReceived: 0, local: null, remote: null,
    ufrag: (/a=ice-ufrag:(\\S+)/.exec((pc.localDescription || {}).sdp || '') || [])[1] || null };
  let pairId = null;
  stats.forEach((r) => {
    if (r.type === 'inbound-rtp' && r.kind === 'video') { out.framesDecoded += r.framesDecoded || 0; out.bytesReceived += r.bytesReceived || 0; }
    if (r.type === 'transport' && r.selectedCandidatePairId) pairId = r.selectedCandidatePairId;
  });
  const pair = pairId && stats.get(pairId);
  if (pair) {
    out.local = (stats.get(pair.localCandidateId) || {}).candidateType || null;
    out.remote = (stats.get(pair.remoteCandidateId) || {}).candidateType || null;
    out.candidateAddresses = [(stats.get(pair.localCandidateId) || {}).address, (stats.get(pair.remoteCandidateId) || {}).address];
  }
  done(out);
}).catch((e) => done({ made: all.length, statsError: String(e) }));
"""


# Kept by each page for the tests: the `type` of every signalling frame it sent and
# received (nothing else of them: no content, no keys), to show that call set-up
# travels only as sealed `signal` boxes.
WS_PROBE = """
(() => {
  const Native = window.WebSocket;
  if (!Native || Native.samromProbe) return;
  const seen = { sent: {}, received: {} };
  const count = (table, data) => {
    try { const type = JSON.parse(String(data)).type; table[type] = (table[type] || 0) + 1; } catch (e) { /* not JSON */ }
  };
  class Probe extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', (event) => count(seen.received, event.data));
    }
    send(data) { count(seen.sent, data); return super.send(data); }
  }
  Probe.samromProbe = true;
  window.WebSocket = Probe;
  window.samromFrames = seen;
})();
"""


def probe_ws(driver):
    """Installs WS_PROBE in this browser for every page it loads from now on."""
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": WS_PROBE})


def ws_frames(driver):
    """The frame types this page sent and received so far: {"sent": {type: n}, "received": {type: n}}."""
    return driver.execute_script("return window.samromFrames || {sent: {}, received: {}}")


def probe_rtc(driver):
    """Installs RTC_PROBE in this browser for every page it loads from now on."""
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": RTC_PROBE})


def rtc_stats(driver):
    return driver.execute_async_script(RTC_STATS)


def wait_for_frames(driver, more_than, seconds=30):
    """Waits until the page's newest peer connection has decoded more than
    `more_than` video frames; returns its stats."""
    deadline = time.time() + seconds
    stats = {}
    while time.time() < deadline:
        stats = rtc_stats(driver)
        if stats.get("framesDecoded", 0) > more_than and stats.get("bytesReceived", 0) > 0:
            return stats
        time.sleep(0.2)
    raise RuntimeError("no new video frames decoded: %r" % stats)


def create_consultation(veileder, base, username, password, title, result, check=True):
    """The veileder logs in (a wrong password first) and makes a consultation; returns its link."""
    open_login(veileder, base + "/")
    if check:
        result["axe"] += axe(veileder, "veileder: login")
        submit_login(veileder, username, "wrong password")
        wait_for(veileder, "return !document.querySelector('#login-problem').hidden")
        result["wrongPassword"] = veileder.find_element(By.ID, "login-problem").text
        result["axe"] += axe(veileder, "veileder: wrong password")
    submit_login(veileder, username, password)
    wait_for(veileder, "return document.body.dataset.state === 'list'")
    veileder.find_element(By.ID, "title").send_keys(title)
    veileder.find_element(By.CSS_SELECTOR, "#create-form button[type=submit]").click()
    wait_for(veileder, "return document.querySelector('#join-url').value.includes('/j/#')")
    join_url = veileder.find_element(By.ID, "join-url").get_attribute("value")
    wait_for(veileder, "return document.querySelectorAll('#consultations li').length === 1")
    result["listed"] = veileder.find_element(By.CSS_SELECTOR, "#consultations li").text
    if check:
        result["axe"] += axe(veileder, "veileder: overview with a new link")
    return join_url


def knock(deltaker, join_url, result, check=True):
    """The deltaker opens the link, checks camera and microphone, and waits in the lobby."""
    deltaker.get(join_url)
    wait_for(deltaker, "return document.body.dataset.state === 'welcome' && !!document.querySelector('#check-devices')")
    if check:
        result["axe"] += axe(deltaker, "deltaker: welcome")
    deltaker.find_element(By.ID, "check-devices").click()
    wait_for(deltaker, "return document.querySelector('#preview').videoWidth > 0")
    if check:
        result["axe"] += axe(deltaker, "deltaker: device check")
    deltaker.find_element(By.ID, "join").click()
    wait_for(deltaker, "return document.body.dataset.state === 'lobby'")
    result["lobbyText"] = deltaker.find_element(By.CSS_SELECTOR, "[data-view=lobby]").text
    if check:
        result["axe"] += axe(deltaker, "deltaker: lobby")


def admit(veileder, result, check=True, deltaker=None):
    """The overview shows someone waiting; the veileder opens the room and lets them in.
    With `deltaker`, first asks them to hold on with the lobby's message, and
    records what their page shows."""
    wait_for(veileder, "return document.querySelector('#consultations li.waiting') !== null", seconds=10)
    result["waitingShown"] = veileder.find_element(By.CSS_SELECTOR, "#consultations li.waiting").text
    if check:
        result["axe"] += axe(veileder, "veileder: overview, someone waiting")
    veileder.find_element(By.XPATH, "//li[contains(@class,'waiting')]//button[text()='Åpne']").click()
    wait_for(veileder, "return document.querySelector('#lobby li') !== null")
    result["lobbyItem"] = veileder.find_element(By.CSS_SELECTOR, "#lobby li").text
    if check:
        result["axe"] += axe(veileder, "veileder: room with a knock")
    if deltaker is not None:
        veileder.find_element(By.XPATH, "//ul[@id='lobby']//button[text()='Send beskjed']").click()
        wait_for(deltaker, "return !document.querySelector('#hold-message').hidden")
        result["holdMessage"] = deltaker.find_element(By.ID, "hold-message").text
        if check:
            result["axe"] += axe(deltaker, "deltaker: lobby with the veileder's message")
    veileder.find_element(By.XPATH, "//ul[@id='lobby']//button[text()='Slipp inn']").click()


PAGE = """
const remote = document.querySelector('.tile:not([data-self]) video');
return { state: document.body.dataset.state, remoteVideoWidth: remote ? remote.videoWidth : 0,
         remoteTime: remote ? remote.currentTime : 0, status: document.querySelector('#status').textContent };
"""


def video_both_ways(veileder, deltaker, result, seconds=30):
    """Waits until each page plays the other's camera; records both pages and the time it took."""
    started = time.time()
    while time.time() - started < seconds:
        result["veileder"] = veileder.execute_script(PAGE)
        result["deltaker"] = deltaker.execute_script(PAGE)
        if result["veileder"]["remoteVideoWidth"] > 0 and result["deltaker"]["remoteVideoWidth"] > 0:
            break
        time.sleep(0.2)
    result["secondsToMedia"] = round(time.time() - started, 2)
