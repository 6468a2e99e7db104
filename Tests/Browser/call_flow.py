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

from selenium.webdriver.common.by import By

from call_steps import admit, create_consultation, knock, probe_rtc, probe_ws, rtc_stats, video_both_ways, ws_frames
from samrom_browser import axe, browser, resource_hosts, wait_for


def main():
    base, username, password = sys.argv[1:4]
    veileder = browser(media=True)
    deltaker = browser(media=True)
    for driver in (veileder, deltaker):
        probe_rtc(driver)
        probe_ws(driver)
    result = {"axe": []}
    try:
        join_url = create_consultation(veileder, base, username, password, "Oppfølging uke 3", result)
        knock(deltaker, join_url, result)
        admit(veileder, result, deltaker=deltaker)
        # Video both ways: each page plays the other's camera.
        video_both_ways(veileder, deltaker, result)
        # How they are connected (direct here: host candidates on loopback).
        result["stats"] = {"veileder": rtc_stats(veileder), "deltaker": rtc_stats(deltaker)}
        # The connection-quality indicator, in text, on both pages.
        for name, driver in (("veileder", veileder), ("deltaker", deltaker)):
            wait_for(driver, "return document.querySelector('.tile:not([data-self]) .quality').dataset.level === 'good'")
            result[name + "Quality"] = driver.execute_script("return document.querySelector('.tile:not([data-self]) .quality').textContent.trim()")

        # The call code (commit, then reveal, through sealed signals): both see the same one.
        wait_for(veileder, "return /^\\d{4} \\d{4} \\d{4}$/.test(document.querySelector('#safety-code').textContent)")
        wait_for(deltaker, "return /^\\d{4} \\d{4} \\d{4}$/.test(document.querySelector('#safety-code').textContent)")
        result["callCodes"] = [veileder.find_element(By.ID, "safety-code").text, deltaker.find_element(By.ID, "safety-code").text]
        result["callCodeLabel"] = deltaker.find_element(By.CSS_SELECTOR, ".safety span").text
        result["codeWarningShown"] = [d.execute_script("return !document.querySelector('#code-warning').hidden") for d in (veileder, deltaker)]
        # The end-to-end chat: a message each way.
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

        # Call set-up went only as sealed boxes (protocol v2): the frame types each page used.
        result["frames"] = {"veileder": ws_frames(veileder), "deltaker": ws_frames(deltaker)}

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
