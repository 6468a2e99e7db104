"""The comfort parts of the pages in two real Chromiums, for
BrowserInteropTests+Comfort.swift: the deltaker's device check (choices of
camera and microphone, the level meter, a refused permission and "Prøv
igjen", "Fortsett med bare lyd"), the veileder's knock alert (asked for only
after a click, rate-limited), a sound-only deltaker in the call, the
veileder's screen sharing and back, and the English switch. Takes the
README's screenshots when $SAMROM_SCREENSHOTS is set. Prints one JSON line.

    comfort_flow.py BASE_URL USERNAME PASSWORD
"""
import json
import sys
import time

from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from samrom_browser import axe, browser, open_login, resource_hosts, screenshot, submit_login, wait_for

FRAMES = "document.querySelector('.tile:not([data-self]) video')?.getVideoPlaybackQuality().totalVideoFrames"


def frames_advance(driver, seconds=15):
    """Waits until the remote video has decoded 10 more frames; returns [before, after, width]."""
    before = driver.execute_script("return " + FRAMES)
    wait_for(driver, "return %s > %d" % (FRAMES, before + 10), seconds)
    return [before, driver.execute_script("return " + FRAMES), driver.execute_script("return document.querySelector('.tile:not([data-self]) video')?.videoWidth")]


def texts(driver, *selectors):
    return {s: driver.find_element(By.CSS_SELECTOR, s).text for s in selectors}


def main():
    base, username, password = sys.argv[1:4]
    veileder = browser(media=True, screen=True, size=(1000, 760))
    deltaker = browser(media=True, size=(420, 860))
    result = {"axe": []}
    try:
        # The veileder logs in; nothing asks for notifications on load.
        open_login(veileder, base + "/")
        screenshot(veileder, "veileder-login")
        submit_login(veileder, username, password)
        wait_for(veileder, "return document.body.dataset.state === 'list'")
        result["permissionOnLoad"] = veileder.execute_script("return Notification.permission")
        result["notifyButtonShown"] = veileder.execute_script("return !document.querySelector('#notify').hidden")
        # "Varsle meg": the browser's prompt is answered "allow" for this origin, then the click asks.
        # (grantPermissions refuses whatever it does not list, so camera and microphone are listed too.)
        veileder.execute_cdp_cmd("Browser.grantPermissions", {
            "origin": base, "permissions": ["notifications", "audioCapture", "videoCapture"]})
        veileder.find_element(By.ID, "notify").send_keys(Keys.ENTER)  # by keyboard: a user gesture too
        wait_for(veileder, "return document.querySelector('#notify-state').textContent !== ''")
        result["notifyState"] = veileder.find_element(By.ID, "notify-state").text
        result["axe"] += axe(veileder, "veileder: notifications on")
        veileder.find_element(By.ID, "title").send_keys("Oppstartssamtale")
        veileder.find_element(By.CSS_SELECTOR, "#create-form button[type=submit]").click()
        wait_for(veileder, "return document.querySelector('#join-url').value.includes('/j/#')")
        join_url = veileder.find_element(By.ID, "join-url").get_attribute("value")

        # The deltaker's welcome, in bokmål, then in English (remembered across a reload), then back.
        deltaker.get(join_url)
        wait_for(deltaker, "return document.body.dataset.state === 'welcome' && document.querySelector('#check-devices').textContent !== ''")
        screenshot(deltaker, "deltaker-welcome")
        result["welcomeNb"] = {"lang": deltaker.execute_script("return document.documentElement.lang"),
                               **texts(deltaker, "#language", "[data-view=welcome] h1", "#check-devices")}
        # By keyboard: the switch is the first thing Tab reaches.
        ActionChains(deltaker).send_keys(Keys.TAB).perform()
        result["firstTab"] = deltaker.execute_script("return document.activeElement.id")
        ActionChains(deltaker).send_keys(Keys.ENTER).perform()
        result["welcomeEn"] = {"lang": deltaker.execute_script("return document.documentElement.lang"),
                               "title": deltaker.title, **texts(deltaker, "#language", "[data-view=welcome] h1", "#check-devices")}
        result["axe"] += axe(deltaker, "deltaker: welcome in English")
        deltaker.refresh()
        wait_for(deltaker, "return document.querySelector('#check-devices').textContent !== ''")
        result["langAfterReload"] = deltaker.execute_script("return document.documentElement.lang")
        deltaker.find_element(By.ID, "language").click()
        result["langBack"] = deltaker.execute_script("return document.documentElement.lang")

        # The device check: preview, choices, the meter moving with the fake microphone's tone.
        deltaker.find_element(By.ID, "check-devices").click()
        wait_for(deltaker, "return document.querySelector('#preview').videoWidth > 0")
        wait_for(deltaker, "return document.querySelectorAll('#camera-select option').length > 0"
                           " && document.querySelectorAll('#mic-select option').length > 0")
        result["cameras"] = [o.text for o in deltaker.find_elements(By.CSS_SELECTOR, "#camera-select option")]
        result["microphones"] = [o.text for o in deltaker.find_elements(By.CSS_SELECTOR, "#mic-select option")]
        wait_for(deltaker, "return Number(document.querySelector('#mic-level').dataset.peak) > 0", seconds=10)
        result["meterPeak"] = int(deltaker.execute_script("return document.querySelector('#mic-level').dataset.peak"))
        result["heard"] = deltaker.find_element(By.ID, "heard").text
        result["meterName"] = deltaker.execute_script("return document.querySelector('#mic-level').labels[0].textContent")
        result["axe"] += axe(deltaker, "deltaker: device check")
        screenshot(deltaker, "deltaker-devices")

        # Choosing a device restarts the preview with exactly that device.
        chosen = deltaker.execute_script("""
const select = document.querySelector('#mic-select');
select.value = select.options[select.options.length - 1].value;
select.dispatchEvent(new Event('change'));
return select.value;""")
        wait_for(deltaker, "return document.querySelector('#preview').srcObject?.getAudioTracks()[0]?.getSettings().deviceId === %s" % json.dumps(chosen))
        result["micRestartedWithChoice"] = True

        # The browser says no: a plain message, and "Prøv igjen" works once it says yes.
        deltaker.execute_script("""
window.realGetUserMedia = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('refused', 'NotAllowedError'));
document.querySelector('#camera-select').dispatchEvent(new Event('change'));""")
        wait_for(deltaker, "return !document.querySelector('#device-problem').hidden")
        result["denied"] = {**texts(deltaker, "#device-problem"),
                            "retryShown": deltaker.execute_script("return !document.querySelector('#retry-devices').hidden"),
                            "joinShown": deltaker.execute_script("return !document.querySelector('#join').hidden")}
        result["axe"] += axe(deltaker, "deltaker: device check, permission refused")
        deltaker.execute_script("navigator.mediaDevices.getUserMedia = window.realGetUserMedia")
        deltaker.find_element(By.ID, "retry-devices").click()
        wait_for(deltaker, "return document.querySelector('#device-problem').hidden && document.querySelector('#preview').videoWidth > 0")
        result["focusAfterRetry"] = deltaker.execute_script("return document.activeElement.id")

        # Sound only, to the lobby.
        deltaker.find_element(By.ID, "join-sound-only").send_keys(Keys.ENTER)
        wait_for(deltaker, "return document.body.dataset.state === 'lobby'")
        result["axe"] += axe(deltaker, "deltaker: lobby")
        screenshot(deltaker, "deltaker-lobby")

        # The overview notices the knock: one chime (and notification); the room's knock for the
        # same consultation a moment later is inside the quiet time.
        wait_for(veileder, "return document.querySelector('#consultations li.waiting') !== null", seconds=10)
        wait_for(veileder, "return document.body.dataset.knockAlerts === '1'")
        result["axe"] += axe(veileder, "veileder: overview, someone waiting")
        screenshot(veileder, "veileder-overview")
        veileder.find_element(By.XPATH, "//li[contains(@class,'waiting')]//button[text()='Åpne']").click()
        wait_for(veileder, "return document.querySelector('#lobby li') !== null")
        wait_for(veileder, "return document.body.dataset.knockSuppressed === '1'")
        veileder.find_element(By.XPATH, "//ul[@id='lobby']//button[text()='Slipp inn']").click()

        # In the call: the deltaker sends sound and no video; the veileder's video arrives.
        wait_for(deltaker, "return document.body.dataset.state === 'call' && document.querySelector('.tile:not([data-self]) video')?.videoWidth > 0", seconds=30)
        wait_for(veileder, "const s = document.querySelector('.tile:not([data-self]) video')?.srcObject; return !!s && s.getAudioTracks().length > 0", seconds=30)
        result["soundOnly"] = {
            "deltakerLocalVideoTracks": deltaker.execute_script("return document.querySelector('#local').srcObject.getVideoTracks().length"),
            "deltakerLocalAudioTracks": deltaker.execute_script("return document.querySelector('#local').srcObject.getAudioTracks().length"),
            "cameraButtonHidden": deltaker.execute_script("return document.querySelector('#camera').hidden"),
            "veilederRemoteVideoTracks": veileder.execute_script("return document.querySelector('.tile:not([data-self]) video')?.srcObject.getVideoTracks().length"),
            "veilederSays": veileder.execute_script("const n = document.querySelector('.tile:not([data-self]) .no-video'); return n.hidden ? '' : n.textContent"),
            "deltakerSays": deltaker.execute_script("const n = document.querySelector('.tile:not([data-self]) .no-video'); return n.hidden ? '' : n.textContent"),
            "microphoneIsTheChosenOne": deltaker.execute_script(
                "return document.querySelector('#local').srcObject.getAudioTracks()[0].getSettings().deviceId") == chosen,
        }
        wait_for(veileder, "return /^\\d{4} \\d{4} \\d{4}$/.test(document.querySelector('#safety-code').textContent)")
        wait_for(deltaker, "return /^\\d{4} \\d{4} \\d{4}$/.test(document.querySelector('#safety-code').textContent)")
        deltaker.find_element(By.ID, "chat-input").send_keys("Hei! Jeg har bare lyd i dag.")
        deltaker.find_element(By.CSS_SELECTOR, "#chat-form button[type=submit]").click()
        wait_for(veileder, "return document.querySelector('#messages').textContent.includes('bare lyd')")
        veileder.find_element(By.ID, "chat-input").send_keys("Det går fint, jeg hører deg godt.")
        veileder.find_element(By.CSS_SELECTOR, "#chat-form button[type=submit]").click()
        wait_for(deltaker, "return document.querySelector('#messages').textContent.includes('hører deg godt')")
        result["axe"] += axe(deltaker, "deltaker: sound-only call")
        for side in (veileder, deltaker):  # the connection-quality line has had its first measurement
            wait_for(side, "const q = document.querySelector('.tile:not([data-self]) .quality'); return !q || q.dataset.level !== 'connecting'", seconds=15)
        screenshot(deltaker, "deltaker-call")

        # Screen sharing and back: the deltaker keeps decoding new frames throughout.
        result["share"] = {"cameraFrames": frames_advance(deltaker)}
        veileder.find_element(By.ID, "share").click()
        wait_for(veileder, "return document.querySelector('#share').getAttribute('aria-pressed') !== 'false'"
                           " || document.querySelector('#status').textContent !== ''")
        time.sleep(0.2)
        result["share"]["pressed"] = veileder.find_element(By.ID, "share").get_attribute("aria-pressed")
        result["share"]["status"] = veileder.find_element(By.ID, "status").text
        result["share"]["label"] = veileder.find_element(By.ID, "share").text
        if result["share"]["pressed"] == "true":
            result["share"]["localIsScreen"] = veileder.execute_script(
                "return document.querySelector('#local').srcObject.getVideoTracks()[0].getSettings().displaySurface ?? 'unknown'")
            result["share"]["screenFrames"] = frames_advance(deltaker)
            result["axe"] += axe(veileder, "veileder: sharing the screen")
            screenshot(veileder, "veileder-sharing")
            veileder.find_element(By.ID, "share").click()
            wait_for(veileder, "return document.querySelector('#share').getAttribute('aria-pressed') === 'false'")
            result["share"]["afterPressed"] = "false"
            result["share"]["afterStatus"] = veileder.find_element(By.ID, "status").text
            result["share"]["backFrames"] = frames_advance(deltaker)

        # The veileder switches the camera off: the deltaker reads it over the picture and hears it
        # (the live region) instead of watching black frames; the note goes when the camera is back.
        status = "return document.querySelector('#status').textContent"
        veileder.find_element(By.ID, "camera").click()
        wait_for(deltaker, "return !document.querySelector('.tile:not([data-self]) .no-video')?.hidden", seconds=10)
        wait_for(deltaker, status + ".endsWith('Veilederen (kari) har slått av kameraet.')", seconds=5)
        result["cameraOff"] = {
            "deltakerSays": deltaker.execute_script("return document.querySelector('.tile:not([data-self]) .no-video')?.textContent"),
            "deltakerHeard": deltaker.execute_script(status),
            "veilederButton": veileder.find_element(By.ID, "camera").text,
            "veilederPressed": veileder.find_element(By.ID, "camera").get_attribute("aria-pressed"),
        }
        result["axe"] += axe(deltaker, "deltaker: the veileder's camera is off")
        screenshot(deltaker, "deltaker-camera-off")
        veileder.find_element(By.ID, "camera").click()
        wait_for(deltaker, "return document.querySelector('.tile:not([data-self]) .no-video')?.hidden", seconds=10)
        wait_for(deltaker, status + ".endsWith('Veilederen (kari) har slått på kameraet.')", seconds=5)
        result["cameraOff"]["backOnHeard"] = deltaker.execute_script(status)
        result["cameraOff"]["veilederButtonBack"] = veileder.find_element(By.ID, "camera").text

        # The veileder's call in English: labels follow, pressed states keep their words.
        veileder.find_element(By.ID, "mute").click()
        veileder.find_element(By.ID, "language").click()
        result["veilederEn"] = {"lang": veileder.execute_script("return document.documentElement.lang"),
                                **texts(veileder, "#mute", "#share", "#chat-heading", "#language")}
        result["axe"] += axe(veileder, "veileder: call in English")
        veileder.find_element(By.ID, "language").click()
        veileder.find_element(By.ID, "mute").click()
        result["veilederNbAgain"] = texts(veileder, "#mute")

        # A reload mid-call comes back with the same microphone, still without camera;
        # the veileder's camera is off meanwhile, and the page that came back is told so.
        veileder.find_element(By.ID, "camera").click()
        deltaker.refresh()
        wait_for(deltaker, "const s = document.querySelector('#local')?.srcObject;"
                           " return document.body.dataset.state === 'call' && !!s && s.getAudioTracks().length > 0", seconds=20)
        wait_for(deltaker, "return document.querySelector('.tile:not([data-self]) .no-video')?.textContent === 'Kameraet er av'", seconds=15)
        result["cameraOff"]["afterReload"] = deltaker.execute_script("return document.querySelector('.tile:not([data-self]) .no-video')?.textContent")
        veileder.find_element(By.ID, "camera").click()
        wait_for(deltaker, "return document.querySelector('.tile:not([data-self]) .no-video')?.hidden", seconds=10)
        # The chat thread comes back after the reload, read from the server's history: the
        # veileder's message from its copy to this key, the deltaker's own from its self-copy.
        wait_for(deltaker, "const t = document.querySelector('#messages').textContent;"
                           " return t.includes('bare lyd i dag') && t.includes('hører deg godt')", seconds=10)
        result["historyAfterReload"] = [item.text for item in deltaker.find_elements(By.CSS_SELECTOR, "#messages li")]
        result["afterReload"] = {
            "microphoneIsTheChosenOne": deltaker.execute_script(
                "return document.querySelector('#local').srcObject.getAudioTracks()[0].getSettings().deviceId") == chosen,
            "videoTracks": deltaker.execute_script("return document.querySelector('#local').srcObject.getVideoTracks().length"),
        }

        # The quiet time itself, with the clock passed in: 0 s alerts, 29.999 s does not, 30 s does;
        # another consultation is not held back.
        result["quietTime"] = veileder.execute_async_script("""
const done = arguments[0];
import('/lib/knock.js').then(({ RateLimit, QUIET_MS }) => {
  const limit = new RateLimit(QUIET_MS);
  done([limit.allow('a', 0), limit.allow('a', 29999), limit.allow('b', 29999), limit.allow('a', 30000)]);
});""")

        # The veileder ends the consultation: both devices delete their keys for it.
        count_keys = """
const done = arguments[0];
const request = indexedDB.open('samrom');
request.onsuccess = () => {
  const db = request.result;
  if (!db.objectStoreNames.contains('chat-keys')) { db.close(); done(0); return; }
  const count = db.transaction('chat-keys').objectStore('chat-keys').count();
  count.onsuccess = () => { db.close(); done(count.result); };
  count.onerror = () => { db.close(); done(-1); };
};
request.onerror = () => done(-2);
"""
        result["keysBeforeEnd"] = [driver.execute_async_script(count_keys) for driver in (veileder, deltaker)]
        veileder.execute_script("window.confirm = () => true")
        veileder.find_element(By.ID, "end").click()
        wait_for(deltaker, "return document.body.dataset.state === 'done' && document.body.dataset.keysForgotten === 'true'", seconds=15)
        wait_for(veileder, "return document.body.dataset.state === 'list'", seconds=15)
        result["keysAfterEnd"] = [driver.execute_async_script(count_keys) for driver in (veileder, deltaker)]

        result["resourceHosts"] = sorted(set(resource_hosts(veileder) + resource_hosts(deltaker)))
        result["knock"] = veileder.execute_script(
            "return { alerts: document.body.dataset.knockAlerts, notifications: document.body.dataset.knockNotifications,"
            " suppressed: document.body.dataset.knockSuppressed }")
        print(json.dumps(result), flush=True)
        return 0
    except Exception as error:  # report what was seen so far
        result["error"] = repr(error)
        result["debug"] = [d.execute_script("const r = document.querySelector('.tile:not([data-self]) video'); return [document.body.dataset.state,"
                                            " document.querySelector('#status').textContent, r && r.srcObject && r.srcObject.getTracks().map(t => t.kind + ':' + t.readyState + ':' + t.muted), r && r.videoWidth]")
                           for d in (veileder, deltaker)]
        print(json.dumps(result), flush=True)
        return 1
    finally:
        veileder.quit()
        deltaker.quit()


if __name__ == "__main__":
    sys.exit(main())
