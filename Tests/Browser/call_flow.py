"""Two real Chromiums in a Samrom call, driven through the real pages, for
BrowserInteropTests.swift.

The veileder logs in on `/`, creates a consultation, copies its link and opens
the room; the deltaker opens the link (`/j/#TOKEN`), checks camera and
microphone and waits in the lobby; the veileder clicks "Slipp inn"; both send
fake camera video over a real peer-to-peer WebRTC connection negotiated
through Samrom's signalling (protocol.js, rtc.js). Prints one JSON line with
what each side saw.

    call_flow.py BASE_URL USERNAME PASSWORD [CHAT_MARKER]
"""
import json
import sys
import time

from selenium.webdriver.common.by import By

from samrom_browser import axe, browser, open_login, resource_hosts, submit_login, wait_for

PAGE = """
const remote = document.querySelector('#remote');
return { state: document.body.dataset.state, remoteVideoWidth: remote ? remote.videoWidth : 0,
         remoteTime: remote ? remote.currentTime : 0, status: document.querySelector('#status').textContent };
"""


def main():
    base, username, password = sys.argv[1:4]
    veileder = browser(media=True)
    deltaker = browser(media=True)
    result = {"axe": []}
    try:
        # The veileder logs in and makes a consultation.
        open_login(veileder, base + "/")
        result["axe"] += axe(veileder, "veileder: login")
        submit_login(veileder, username, "wrong password")
        wait_for(veileder, "return !document.querySelector('#login-problem').hidden")
        result["wrongPassword"] = veileder.find_element(By.ID, "login-problem").text
        result["axe"] += axe(veileder, "veileder: wrong password")
        submit_login(veileder, username, password)
        wait_for(veileder, "return document.body.dataset.state === 'list'")
        veileder.find_element(By.ID, "title").send_keys("Oppfølging uke 3")
        veileder.find_element(By.CSS_SELECTOR, "#create-form button[type=submit]").click()
        wait_for(veileder, "return document.querySelector('#join-url').value.includes('/j/#')")
        join_url = veileder.find_element(By.ID, "join-url").get_attribute("value")
        wait_for(veileder, "return document.querySelectorAll('#consultations li').length === 1")
        result["listed"] = veileder.find_element(By.CSS_SELECTOR, "#consultations li").text
        result["axe"] += axe(veileder, "veileder: overview with a new link")

        # The deltaker clicks through the join page and waits.
        deltaker.get(join_url)
        wait_for(deltaker, "return document.body.dataset.state === 'welcome' && !!document.querySelector('#check-devices')")
        result["axe"] += axe(deltaker, "deltaker: welcome")
        deltaker.find_element(By.ID, "check-devices").click()
        wait_for(deltaker, "return document.querySelector('#preview').videoWidth > 0")
        result["axe"] += axe(deltaker, "deltaker: device check")
        deltaker.find_element(By.ID, "join").click()
        wait_for(deltaker, "return document.body.dataset.state === 'lobby'")
        result["lobbyText"] = deltaker.find_element(By.CSS_SELECTOR, "[data-view=lobby]").text
        result["axe"] += axe(deltaker, "deltaker: lobby")

        # The overview shows someone waiting; the veileder opens the room and lets them in.
        wait_for(veileder, "return document.querySelector('#consultations li.waiting') !== null", seconds=10)
        result["waitingShown"] = veileder.find_element(By.CSS_SELECTOR, "#consultations li.waiting").text
        result["axe"] += axe(veileder, "veileder: overview, someone waiting")
        veileder.find_element(By.XPATH, "//li[contains(@class,'waiting')]//button[text()='Åpne']").click()
        wait_for(veileder, "return document.querySelector('#lobby li') !== null")
        result["axe"] += axe(veileder, "veileder: room with a knock")
        veileder.find_element(By.XPATH, "//ul[@id='lobby']//button[text()='Slipp inn']").click()

        # Video both ways: each page plays the other's camera.
        started = time.time()
        while time.time() - started < 30:
            result["veileder"] = veileder.execute_script(PAGE)
            result["deltaker"] = deltaker.execute_script(PAGE)
            if result["veileder"]["remoteVideoWidth"] > 0 and result["deltaker"]["remoteVideoWidth"] > 0:
                break
            time.sleep(0.2)
        result["secondsToMedia"] = round(time.time() - started, 2)

        # The end-to-end chat: both see the same safety code; a message each way.
        wait_for(veileder, "return /^\\d{4} \\d{4} \\d{4}$/.test(document.querySelector('#safety-code').textContent)")
        wait_for(deltaker, "return /^\\d{4} \\d{4} \\d{4}$/.test(document.querySelector('#safety-code').textContent)")
        result["safetyCodes"] = [veileder.find_element(By.ID, "safety-code").text, deltaker.find_element(By.ID, "safety-code").text]
        marker = sys.argv[4] if len(sys.argv) > 4 else "hei"
        deltaker.find_element(By.ID, "chat-input").send_keys(marker)
        deltaker.find_element(By.CSS_SELECTOR, "#chat-form button[type=submit]").click()
        wait_for(veileder, "return document.querySelector('#messages').textContent.includes(arguments[0])".replace("arguments[0]", json.dumps(marker)))
        veileder.find_element(By.ID, "chat-input").send_keys("Takk, det hører jeg!")
        veileder.find_element(By.CSS_SELECTOR, "#chat-form button[type=submit]").click()
        wait_for(deltaker, "return document.querySelector('#messages').textContent.includes('Takk, det hører jeg!')")
        result["veilederMessages"] = veileder.find_element(By.ID, "messages").text
        result["axe"] += axe(veileder, "veileder: call with chat")
        result["axe"] += axe(deltaker, "deltaker: call with chat")
        result["deltakerMessages"] = deltaker.find_element(By.ID, "messages").text

        # The deltaker leaves with the button; the veileder is told.
        deltaker.find_element(By.ID, "leave").click()
        result["deltakerAfterLeave"] = deltaker.execute_script("return document.body.dataset.state")
        result["axe"] += axe(deltaker, "deltaker: after the call")
        wait_for(veileder, "return document.querySelector('#status').textContent.includes('forlatt')", seconds=10)
        result["veilederAfterLeave"] = veileder.find_element(By.ID, "status").text
        # After the call the deltaker can see who accessed the consultation (§ 18).
        deltaker.find_element(By.CSS_SELECTOR, "[data-view=done] .show-access").click()
        wait_for(deltaker, "return document.body.dataset.state === 'access'")
        result["accessReport"] = [row.text for row in deltaker.find_elements(By.CSS_SELECTOR, "#access tbody tr")]
        result["axe"] += axe(deltaker, "deltaker: who has seen my consultation")
        # The checker itself: a nameless button must be reported.
        deltaker.execute_script("document.querySelector('main').append(document.createElement('button'))")
        result["axeSelfCheck"] = axe(deltaker, "self-check")
        result["resourceHosts"] = sorted(set(resource_hosts(veileder) + resource_hosts(deltaker)))
        print(json.dumps(result), flush=True)
        return 0
    except Exception as error:  # report what was seen so far
        result["error"] = repr(error)
        print(json.dumps(result), flush=True)
        return 1
    finally:
        veileder.quit()
        deltaker.quit()


if __name__ == "__main__":
    sys.exit(main())
