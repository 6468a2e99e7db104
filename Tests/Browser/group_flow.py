"""A group call in real Chromiums, for BrowserInteropTests+Group.swift: the
veileder opens a consultation and invites a tolk ("Inviter tolk"); a deltaker
(named "Siri") and the tolk (named "Ola", on a phone-sized screen) knock; the
lobby shows both with their roles; the veileder lets them in. Then, on every
page: video from both others, each tile labelled with name and role, the
same call code, the participant list; chat from each reaching the other two
with the author's name; the deltaker pins the tolk large; the tolk's camera
and microphone off, as the others see it. A second deltaker joins later
(a fourth person, with or without a camera: FOURTH_VIDEO) and gets no copy of
what was said before; the first deltaker reloads and comes back to the same
tiles, and a new code is agreed. Takes the README's screenshots of these
screens when $SAMROM_SCREENSHOTS is set. Prints one JSON line.

    group_flow.py BASE_URL USERNAME PASSWORD [FOURTH_VIDEO=1|0]
"""
import json
import sys
import time

from selenium.webdriver.common.by import By

from call_steps import create_consultation, probe_rtc, probe_ws, ws_frames
from samrom_browser import axe, browser, resource_hosts, screenshot, wait_for

CODE = "return (document.querySelector('#safety-code') || {}).textContent || ''"
CODE_READY = "return /^\\d{4} \\d{4} \\d{4}$/.test(document.querySelector('#safety-code').textContent)"

# Each remote tile as the page shows it: role, label, video size, decoded frames, camera state, quality.
TILES = """
return [...document.querySelectorAll('#tiles .tile')].map((tile) => {
  const video = tile.querySelector('video');
  const quality = tile.querySelector('.quality');
  return { self: tile.dataset.self === 'true', role: tile.dataset.role, participant: tile.dataset.participant,
    label: tile.querySelector('.tile-name').textContent, micOff: !tile.querySelector('.tile-mic-off').hidden,
    cameraOff: tile.dataset.cameraOff === 'true', featured: tile.classList.contains('featured'),
    width: video.videoWidth, frames: video.getVideoPlaybackQuality().totalVideoFrames,
    quality: quality ? quality.dataset.level : null, fingerprint: tile.dataset.fingerprint || null };
});
"""

PEOPLE = "return [...document.querySelectorAll('#participants li')].map((li) => li.textContent)"


def tiles(driver):
    return driver.execute_script(TILES)


def remote_videos(driver, count, seconds=45):
    """Waits until `count` other people's videos play on this page; returns the tiles."""
    deadline = time.time() + seconds
    seen = []
    while time.time() < deadline:
        seen = tiles(driver)
        playing = [tile for tile in seen if not tile["self"] and tile["width"] > 0]
        if len(playing) >= count:
            return seen
        time.sleep(0.25)
    raise RuntimeError("not %d remote videos: %r" % (count, seen))


def same_code(drivers, seconds=30, other_than=None):
    """Waits until every page shows the same call code (and, with `other_than`, a new one)."""
    deadline = time.time() + seconds
    codes = []
    while time.time() < deadline:
        codes = [d.execute_script(CODE) for d in drivers]
        if all(d.execute_script(CODE_READY) for d in drivers) and len(set(codes)) == 1 and codes[0] != other_than:
            return codes[0]
        time.sleep(0.2)
    raise RuntimeError("no common call code: %r" % codes)


def send_chat(driver, text):
    driver.find_element(By.ID, "chat-input").send_keys(text)
    driver.find_element(By.CSS_SELECTOR, "#chat-form button[type=submit]").click()


def messages(driver):
    return [li.get_attribute("textContent") for li in driver.find_elements(By.CSS_SELECTOR, "#messages li")]


def join(driver, url, name, with_camera=True):
    """Opens a link, chooses the name the others see, and goes to the lobby; returns
    whether the welcome screen showed the call's controls (it must not)."""
    driver.get(url)
    wait_for(driver, "return document.body.dataset.state === 'welcome' && !!document.querySelector('#display-name')")
    controls_shown = driver.find_element(By.ID, "leave").is_displayed()
    driver.find_element(By.ID, "display-name").send_keys(name)
    if with_camera:
        driver.find_element(By.ID, "check-devices").click()
        wait_for(driver, "return document.querySelector('#preview').videoWidth > 0")
        driver.find_element(By.ID, "join").click()
    else:
        driver.find_element(By.ID, "join-audio-only").click()
    wait_for(driver, "return document.body.dataset.state === 'lobby'")
    return controls_shown


def admit_all(veileder, count):
    """Lets in everyone waiting once `count` wait; returns what the lobby said of each."""
    wait_for(veileder, "return document.querySelectorAll('#lobby li').length === %d" % count, seconds=20)
    return veileder.execute_script("return [...document.querySelectorAll('#lobby li')].map((li) => li.firstChild.textContent.trim())")


def main():
    base, username, password = sys.argv[1:4]
    fourth_video = len(sys.argv) <= 4 or sys.argv[4] != "0"
    veileder = browser(media=True, size=(1280, 800))
    deltaker = browser(media=True, size=(1000, 800))
    tolk = browser(media=True, size=(390, 844))  # a phone
    later = None
    people = [veileder, deltaker, tolk]
    for driver in people:
        probe_rtc(driver)
        probe_ws(driver)
    result = {"axe": []}
    try:
        join_url = create_consultation(veileder, base, username, password, "Gruppesamtale med tolk", result, check=False)
        # Only the view shown is visible (the call view's grid layout must not unhide it).
        result["hiddenViews"] = {"overviewShowsCallControls": veileder.find_element(By.ID, "end").is_displayed()}
        veileder.find_element(By.XPATH, "//ul[@id='consultations']//button[text()='Åpne']").click()
        wait_for(veileder, "return document.body.dataset.state === 'room'")
        # "Inviter tolk": a link for the tolk's role, shown once.
        veileder.find_element(By.ID, "invite-tolk").click()
        wait_for(veileder, "return document.querySelector('#invite-url').value.includes('/j/#')")
        tolk_url = veileder.find_element(By.ID, "invite-url").get_attribute("value")
        result["inviteLabel"] = veileder.find_element(By.ID, "invite-label").text
        result["axe"] += axe(veileder, "veileder: room with an invitation")

        result["hiddenViews"]["welcomeShowsCallControls"] = join(deltaker, join_url, "Siri")
        # The address bar no longer shows the link's token once the page has read it.
        result["deltakerAddress"] = deltaker.execute_script("return location.href")
        join(tolk, tolk_url, "Ola")
        result["lobby"] = admit_all(veileder, 2)
        result["axe"] += axe(veileder, "veileder: lobby with a deltaker and a tolk")
        screenshot(veileder, "veileder-lobby-roles")
        for _ in range(2):
            veileder.find_element(By.XPATH, "//ul[@id='lobby']//button[text()='Slipp inn']").click()
            time.sleep(0.2)

        # Video from both others on every page; each tile says who it is.
        started = time.time()
        result["tiles"] = {name: remote_videos(driver, 2) for name, driver in
                           (("veileder", veileder), ("deltaker", deltaker), ("tolk", tolk))}
        result["secondsToVideo"] = round(time.time() - started, 1)
        result["code"] = same_code(people)
        result["people"] = {name: driver.execute_script(PEOPLE) for name, driver in
                            (("veileder", veileder), ("deltaker", deltaker), ("tolk", tolk))}
        # Each pair checked the other's DTLS certificate against the sealed SDP
        # (each page for itself: one page done says nothing of the others).
        for driver in (veileder, deltaker, tolk):
            wait_for(driver, "return [...document.querySelectorAll('.tile:not([data-self])')].every((t) => t.dataset.fingerprint)", seconds=20)
        result["fingerprints"] = {name: [t["fingerprint"] for t in tiles(driver) if not t["self"]]
                                  for name, driver in (("veileder", veileder), ("deltaker", deltaker), ("tolk", tolk))}

        # Chat from each reaches the other two, with who wrote it.
        send_chat(deltaker, "Hei fra Siri")
        send_chat(tolk, "Tolken er klar")
        send_chat(veileder, "Velkommen begge to")
        for driver in people:
            wait_for(driver, "const t = document.querySelector('#messages').textContent;"
                             " return ['Hei fra Siri', 'Tolken er klar', 'Velkommen begge to'].every((m) => t.includes(m))")
        result["messages"] = {name: messages(driver) for name, driver in
                              (("veileder", veileder), ("deltaker", deltaker), ("tolk", tolk))}

        # The deltaker keeps the tolk large (a sign-language user needs to).
        tolk_id = next(t["participant"] for t in tiles(deltaker) if t["role"] == "tolk")
        deltaker.find_element(By.CSS_SELECTOR, ".tile[data-participant='%s'] .pin" % tolk_id).click()
        wait_for(deltaker, "return document.querySelector('.tile.featured').dataset.role === 'tolk'")
        result["pinned"] = [t["role"] for t in tiles(deltaker) if t["featured"]]
        result["pinStatus"] = deltaker.find_element(By.ID, "status").text
        result["axe"] += axe(deltaker, "deltaker: grid with the tolk pinned")
        screenshot(deltaker, "group-call-laptop")

        # The tolk turns camera and microphone off: the others see it on the tile and in the list.
        tolk.find_element(By.ID, "camera").click()
        tolk.find_element(By.ID, "mute").click()
        wait_for(veileder, "const t = document.querySelector('.tile[data-role=tolk]');"
                           " return t.dataset.cameraOff === 'true' && !t.querySelector('.tile-mic-off').hidden")
        result["tolkOff"] = {"tile": [t for t in tiles(veileder) if t["role"] == "tolk"][0],
                             "people": veileder.execute_script(PEOPLE), "status": veileder.find_element(By.ID, "status").text}
        result["axe"] += axe(veileder, "veileder: grid and participant list")
        result["axe"] += axe(tolk, "tolk: call on a phone")
        screenshot(tolk, "group-call-phone")
        screenshot(veileder, "veileder-group-call")
        tolk.find_element(By.ID, "camera").click()
        tolk.find_element(By.ID, "mute").click()

        # A fourth person joins later, on the same deltaker link: no copy of what was said before.
        later = browser(media=True, size=(1000, 800))
        probe_rtc(later)
        probe_ws(later)
        people.append(later)
        join(later, join_url, "Per", with_camera=fourth_video)
        admit_all(veileder, 1)
        veileder.find_element(By.XPATH, "//ul[@id='lobby']//button[text()='Slipp inn']").click()
        started = time.time()
        result["fourth"] = {"video": fourth_video, "tiles": remote_videos(later, 3, seconds=60)}
        result["fourth"]["secondsToVideo"] = round(time.time() - started, 1)
        for name, driver in (("veileder", veileder), ("deltaker", deltaker), ("tolk", tolk)):
            result["fourth"][name] = remote_videos(driver, 3 if fourth_video else 2, seconds=60)
        result["fourth"]["code"] = same_code(people, other_than=result["code"])
        wait_for(veileder, "return document.querySelector('#status').textContent.includes(%s)" % json.dumps(result["fourth"]["code"]), seconds=5)
        result["fourth"]["announced"] = veileder.find_element(By.ID, "status").text
        time.sleep(2)  # the history has been asked for and answered
        result["fourth"]["messages"] = messages(later)
        result["fourth"]["historyAsked"] = later.execute_script("return document.querySelector('#messages') !== null")

        # The first deltaker reloads: back to the same tiles, and a new code agreed by all four.
        before = sorted(t["participant"] for t in tiles(deltaker) if not t["self"])
        deltaker.refresh()
        wait_for(deltaker, "return document.body.dataset.state === 'call'", seconds=20)
        result["reload"] = {"address": deltaker.execute_script("return location.href"),
                            "tiles": remote_videos(deltaker, 3 if fourth_video else 2, seconds=60)}
        result["reload"]["sameTiles"] = sorted(t["participant"] for t in result["reload"]["tiles"] if not t["self"]) == before
        result["reload"]["code"] = same_code(people, other_than=result["fourth"]["code"], seconds=45)
        result["reload"]["messages"] = messages(deltaker)
        result["resourceHosts"] = sorted(set(h for d in people for h in resource_hosts(d)))
        print(json.dumps(result), flush=True)
        return 0
    except Exception as error:  # report what was seen so far
        result["error"] = repr(error)
        try:
            result["debug"] = {name: {"tiles": tiles(d), "state": d.execute_script("return document.body.dataset.state"),
                                      "code": d.execute_script(CODE), "status": d.find_element(By.ID, "status").text, "frames": ws_frames(d)}
                               for name, d in zip(("veileder", "deltaker", "tolk", "later"), people)}
        except Exception as inner:  # noqa: BLE001 — the report matters more than its completeness
            result["debugError"] = repr(inner)
        print(json.dumps(result), flush=True)
        return 1
    finally:
        for driver in people:
            driver.quit()


if __name__ == "__main__":
    sys.exit(main())
