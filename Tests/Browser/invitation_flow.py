"""Booked times, invitations, the lobby's opening time and the figures in headless
Chromium, for BrowserInteropTests+Invitations.swift.

    invitation_flow.py BASE_URL VEILEDER PASSWORD LEDER PASSWORD SERVER_NOW_MS DELTAKER_NOW_MS

The server's clock is the test's and stands still at SERVER_NOW_MS; each
browser's clock is set to read that time when the browser starts (a script put
in before any page script shifts `Date`), the deltaker's to DELTAKER_NOW_MS (a
few seconds before the lobby opens, so that its page's own knock at the opening
time is what lets it in), and the pages run in Europe/Oslo, the server's time
zone. The veileder books three consultations (today 10:00, 30 min;
tomorrow 13:30, 45 min; one without a time), sees them by time, downloads both
calendar copies, makes and copies the SMS text, changes a time, and (after a
reload, when the page no longer knows the link) sees the invitation offer a new
link. The deltaker opens today's link before the lobby opens and is told when
the conversation starts. Then the script prints a line and waits for the test to
move the server's clock past the opening time; the deltaker's page knocks by
itself, the veileder lets them in, the call's video is told as call-media, and
the leder reads the figures.

Lines out: {"step": "too-early", …} (answer {"advanced": true}), then the last
line with "axe" and "resourceHosts".
"""
import json
import os
import pathlib
import shutil
import sys
import tempfile
import time

from selenium.webdriver.common.by import By

from samrom_browser import (
    STATUS, axe, browser, click, open_login, receive, resource_hosts, screenshot, send, shown, submit_login, text, texts, wait_for,
)


def press(driver, selector):
    """Clicks an element of the overview's list, found and clicked at once (the list is redrawn every few seconds)."""
    wait_for(driver, "return document.querySelector(%s) !== null" % json.dumps(selector))
    driver.execute_script("document.querySelector(arguments[0]).click()", selector)


def set_value(driver, selector, value):
    """Sets a date, time, month or number field as a person's typing would end."""
    driver.execute_script("""
const f = document.querySelector(arguments[0]);
f.value = arguments[1];
f.dispatchEvent(new Event('input', { bubbles: true }));
f.dispatchEvent(new Event('change', { bubbles: true }));
""", selector, value)


def clock_at(driver, server_now_ms):
    """This browser's pages read the server's (test) clock, running on from now, in Oslo's time zone."""
    offset = int(server_now_ms - time.time() * 1000)
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": """
(() => {
  const offset = %d;
  const Real = Date;
  function Shifted(...args) {
    if (!new.target) return new Real(Real.now() + offset).toString();
    return args.length === 0 ? new Real(Real.now() + offset) : new Real(...args);
  }
  Shifted.prototype = Real.prototype;
  Shifted.now = () => Real.now() + offset;
  Shifted.parse = Real.parse;
  Shifted.UTC = Real.UTC;
  globalThis.Date = Shifted;
})();
""" % offset})
    driver.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": "Europe/Oslo"})
    driver.execute_cdp_cmd("Emulation.setLocaleOverride", {"locale": "nb-NO"})


def both_languages(driver, where, result, selectors=()):
    """axe in bokmål and in English; what the English page says at `selectors`."""
    result["axe"] += axe(driver, where)
    click(driver, "#language")
    english = {"lang": driver.execute_script("return document.documentElement.lang")}
    for selector in selectors:
        english[selector] = text(driver, selector)
    result["axe"] += axe(driver, where + " (English)")
    click(driver, "#language")
    return english


def downloaded(downloads, seconds=10):
    """The files downloaded since the last call (then removed), by name."""
    deadline = time.time() + seconds
    files = []
    while time.time() < deadline:
        files = [f for f in os.listdir(downloads) if not f.endswith(".crdownload")]
        if files:
            break
        time.sleep(0.1)
    time.sleep(0.2)
    out = {}
    for name in files:
        path = pathlib.Path(downloads, name)
        out[name] = path.read_text(encoding="utf-8")
        path.unlink()
    return out


def wait_status(driver, fragment):
    wait_for(driver, "return document.querySelector('#status').textContent.includes(%s)" % json.dumps(fragment))


def create(driver, title, date="", time_of_day="", minutes=None):
    driver.find_element(By.ID, "title").send_keys(title)
    if date:
        set_value(driver, "#booking-date", date)
        set_value(driver, "#booking-time", time_of_day)
    if minutes is not None:
        set_value(driver, "#booking-minutes", str(minutes))
    before = driver.find_element(By.ID, "join-url").get_attribute("value")
    click(driver, "#create-form button[type=submit]")
    wait_for(driver, "return document.querySelector('#join-url').value.includes('/j/#') && document.querySelector('#join-url').value !== %s"
             % json.dumps(before))
    return driver.find_element(By.ID, "join-url").get_attribute("value")


def overview(driver):
    """The overview by time: each heading shown and the items under it."""
    return {
        "headings": [h for h in driver.execute_script(
            "return [...document.querySelectorAll('[data-view=list] .day-group h3')].filter((h) => !h.closest('[hidden]') && !h.hidden)"
            ".map((h) => h.textContent.trim())")],
        "today": texts(driver, "#today li"),
        "upcoming": texts(driver, "#upcoming li"),
        "others": texts(driver, "#consultations li"),
        "times": driver.execute_script("return [...document.querySelectorAll('time.booked')].map((t) => t.dateTime)"),
    }


def veileder_books(driver, base, username, password, result, downloads):
    open_login(driver, base + "/")
    submit_login(driver, username, password)
    wait_for(driver, "return document.body.dataset.state === 'list'")
    today = driver.execute_script("const d = new Date(); return d.getFullYear() + '-' + String(d.getMonth() + 1).padStart(2, '0') + '-' + String(d.getDate()).padStart(2, '0')")
    tomorrow = driver.execute_script("const d = new Date(Date.now() + 86400000); return d.getFullYear() + '-' + String(d.getMonth() + 1).padStart(2, '0') + '-' + String(d.getDate()).padStart(2, '0')")

    # A time given without a date is refused on the page, said and shown.
    set_value(driver, "#booking-time", "10:00")
    click(driver, "#create-form button[type=submit]")
    wait_for(driver, "return !document.querySelector('#create-problem').hidden")
    result["createProblem"] = text(driver, "#create-problem")
    set_value(driver, "#booking-time", "")

    create(driver, "Oppfølging i morgen", tomorrow, "13:30", 45)
    create(driver, "Uten avtalt tid")
    join_url = create(driver, "Frisklivssamtale", today, "10:00", 30)
    result["createdStatus"] = driver.execute_script(STATUS)
    wait_for(driver, "return document.querySelectorAll('#today li').length === 1 && document.querySelectorAll('#upcoming li').length === 1")
    result["overview"] = overview(driver)

    # The invitation panel opened by itself for the consultation just booked, link known.
    wait_for(driver, "return !document.querySelector('#invitation').hidden")
    panel = {
        "heading": text(driver, "#invitation-heading"),
        "when": text(driver, "#invitation-when"),
        "linkKnown": shown(driver, "#invitation-link-known"),
        "linkUnknown": shown(driver, "#invitation-link-unknown"),
        "includeChecked": driver.execute_script("return document.querySelector('#include-link').checked"),
        "emailShown": shown(driver, "#email-part"),
        "emailForm": driver.execute_script("return !!document.querySelector('#email-form')"),
    }
    # The veileder's own copy (GET), then the deltaker's with the link (POST).
    click(driver, "#ics-own")
    panel["own"] = downloaded(downloads)
    click(driver, "#include-link")
    click(driver, "#ics-deltaker")
    panel["deltakerWithLink"] = downloaded(downloads)
    panel["downloadStatus"] = text(driver, "#invitation-done")
    # The SMS text with the link, copied.
    click(driver, "#sms-invitation")
    wait_for(driver, "return !document.querySelector('#sms-box').hidden && document.querySelector('#sms-text').value !== ''")
    panel["sms"] = driver.execute_script("return document.querySelector('#sms-text').value")
    click(driver, "#sms-copy")
    wait_for(driver, "const s = document.querySelector('#invitation-done').textContent; return s.includes('kopiert') || s.includes('merket')")
    panel["copyStatus"] = text(driver, "#invitation-done")
    panel["clipboard"] = driver.execute_async_script(
        "const done = arguments[0]; navigator.clipboard.readText().then(done, (e) => done('unreadable: ' + e))")
    click(driver, "#sms-reminder")
    wait_for(driver, "return document.querySelector('#sms-text').dataset.kind === 'reminder'")
    panel["reminder"] = driver.execute_script("return document.querySelector('#sms-text').value")
    panel["english"] = both_languages(driver, "veileder: overview by time with the invitation", result,
                                      ["#today-heading", "#upcoming-heading", "#invitation-heading", "#invitation-when", "#ics-own"])
    result["panel"] = panel

    # Changing tomorrow's time: 14:00, an hour.
    press(driver, "#upcoming li .booking-open")
    wait_for(driver, "return !document.querySelector('#booking-panel').hidden")
    change = {"heading": text(driver, "#booking-heading"),
              "filled": driver.execute_script("return [document.querySelector('#edit-date').value, document.querySelector('#edit-time').value, document.querySelector('#edit-minutes').value]")}
    set_value(driver, "#edit-time", "14:00")
    set_value(driver, "#edit-minutes", "60")
    result["axe"] += axe(driver, "veileder: changing a time")
    click(driver, "#booking-form button[type=submit]")
    wait_for(driver, "return document.querySelector('#booking-panel').hidden")
    wait_status(driver, "Tidspunktet er lagret")
    change["status"] = driver.execute_script(STATUS)
    wait_for(driver, "return document.querySelector('#upcoming li')?.textContent.includes('14:00')")
    change["upcoming"] = texts(driver, "#upcoming li")

    # Removing a time: the consultation moves under «Uten tidspunkt».
    press(driver, "#upcoming li .booking-open")
    wait_for(driver, "return !document.querySelector('#booking-panel').hidden")
    click(driver, "#booking-remove")
    wait_for(driver, "return document.querySelector('#booking-panel').hidden && document.querySelector('#upcoming-part').hidden")
    change["removedStatus"] = driver.execute_script(STATUS)
    change["afterRemove"] = overview(driver)
    # And booked again from the list («Legg til tidspunkt»).
    driver.execute_script("[...document.querySelectorAll('#consultations li')].find((li) => li.textContent.includes('Oppfølging i morgen')).querySelector('.booking-open').click()")
    wait_for(driver, "return !document.querySelector('#booking-panel').hidden")
    set_value(driver, "#edit-date", tomorrow)
    set_value(driver, "#edit-time", "13:30")
    set_value(driver, "#edit-minutes", "45")
    click(driver, "#booking-form button[type=submit]")
    wait_for(driver, "return document.querySelectorAll('#upcoming li').length === 1")
    result["change"] = change

    # After a reload the page no longer knows any link: the invitation says so and offers a new one.
    driver.refresh()
    wait_for(driver, "return document.body.dataset.state === 'list' && document.querySelectorAll('#upcoming li').length === 1")
    press(driver, "#upcoming li .invite-open")
    wait_for(driver, "return !document.querySelector('#invitation').hidden")
    later = {"linkKnown": shown(driver, "#invitation-link-known"), "linkUnknown": text(driver, "#invitation-link-unknown p"),
             "focus": driver.execute_script("return document.activeElement.id")}
    click(driver, "#ics-deltaker")
    later["deltakerWithoutLink"] = downloaded(downloads)
    click(driver, "#invitation-new-link")
    wait_for(driver, "return !document.querySelector('#invitation-link-known').hidden")
    later["newLinkStatus"] = text(driver, "#invitation-done")
    later["includeChecked"] = driver.execute_script("return document.querySelector('#include-link').checked")
    later["storage"] = driver.execute_script(
        "return {local: Object.keys(localStorage), session: Object.keys(sessionStorage)}")
    result["axe"] += axe(driver, "veileder: invitation without the link")
    click(driver, "#invitation-close")
    wait_for(driver, "return document.querySelector('#invitation').hidden")
    result["later"] = later
    # The README's screen: the new consultation's form and the overview by time.
    driver.execute_script("document.querySelector('#new-link').hidden = true; window.scrollTo(0, 0)")
    screenshot(driver, "veileder-booking")
    return join_url


def deltaker_too_early(driver, join_url, result):
    driver.get(join_url)
    wait_for(driver, "return document.body.dataset.state === 'welcome'")
    click(driver, "#join-audio-only")
    wait_for(driver, "return document.body.dataset.state === 'too-early'")
    seen = {
        "heading": text(driver, "[data-view=too-early] h1"),
        "starts": text(driver, "#too-early-starts"),
        "opens": text(driver, "#too-early-opens"),
        "check": shown(driver, "#too-early-check"),
        "retry": shown(driver, "#too-early-retry"),
        "status": driver.execute_script(STATUS),
        "focus": driver.execute_script("return document.activeElement.tagName"),
    }
    # «Prøv igjen» asks again (still too early: the server's clock has not moved).
    click(driver, "#too-early-retry")
    wait_for(driver, "return Number(document.body.dataset.tooEarly) >= 2")
    seen["retried"] = driver.execute_script(STATUS)
    # The device check from here, and back to waiting.
    click(driver, "#too-early-check")
    wait_for(driver, "return document.body.dataset.state === 'devices'")
    seen["devicesHeading"] = text(driver, "[data-view=devices] h1")
    click(driver, "#join-sound-only" if shown(driver, "#join-sound-only") else "#join")
    wait_for(driver, "return document.body.dataset.state === 'too-early' && Number(document.body.dataset.tooEarly) >= 3")
    seen["english"] = both_languages(driver, "deltaker: too early", result, ["#too-early-starts", "#too-early-opens", "#too-early-retry"])
    screenshot(driver, "deltaker-too-early")
    return seen


def main():
    base, username, password, leder, leder_password, server_now, deltaker_now = sys.argv[1:8]
    server_now, deltaker_now = float(server_now), float(deltaker_now)
    downloads = tempfile.mkdtemp(prefix="samrom-downloads-")
    result = {"axe": []}
    drivers = []
    try:
        veileder = browser(media=True, size=(1100, 1000))
        drivers.append(veileder)
        clock_at(veileder, server_now)
        veileder.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": downloads})
        veileder.execute_cdp_cmd("Browser.grantPermissions", {
            "origin": base, "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]})
        join_url = veileder_books(veileder, base, username, password, result, downloads)

        deltaker = browser(media=True, size=(900, 900))
        drivers.append(deltaker)
        clock_at(deltaker, deltaker_now)
        result["tooEarly"] = deltaker_too_early(deltaker, join_url, result)
        result["step"] = "too-early"
        send(result)
        result = {"axe": []}
        if not receive().get("advanced"):
            raise RuntimeError("the test did not move the clock")

        # The page knocks by itself once the lobby opens (by its clock, then again a little later).
        wait_for(deltaker, "return document.body.dataset.state === 'lobby' && !document.querySelector('#lobby-starts').hidden", seconds=90)
        lobby = {"starts": text(deltaker, "#lobby-starts"), "text": text(deltaker, "[data-view=lobby] p:not([hidden]):not(#lobby-starts)")}
        result["axe"] += axe(deltaker, "deltaker: lobby of a booked consultation")

        # The veileder sees them waiting, lets them in; the call has video (the veileder's camera).
        wait_for(veileder, "return document.querySelector('#today li.waiting') !== null", seconds=15)
        press(veileder, "#today li button.primary")
        wait_for(veileder, "return document.body.dataset.state === 'room' && document.querySelector('#lobby li') !== null", seconds=20)
        press(veileder, "#lobby li button.primary")
        wait_for(deltaker, "return document.body.dataset.state === 'call'", seconds=20)
        wait_for(veileder, "return document.body.dataset.callMedia === 'true'", seconds=20)
        media = ["true"]
        # The veileder's camera off: no video in the call (the deltaker came without one).
        click(veileder, "#camera")
        wait_for(veileder, "return document.body.dataset.callMedia === 'false'", seconds=20)
        media.append("false")
        result["callMedia"] = media
        click(deltaker, "#leave")
        wait_for(deltaker, "return document.body.dataset.state === 'done'")
        click(veileder, "#back")
        wait_for(veileder, "return document.body.dataset.state === 'list'")
        result["lobby"] = lobby

        # «Mine tall»: the veileder's own figures.
        click(veileder, "#stats-open")
        wait_for(veileder, "return document.body.dataset.state === 'stats' && !document.querySelector('#stats-table').hidden")
        result["mine"] = {"heading": text(veileder, "[data-view=stats] h1"), "month": veileder.execute_script("return document.querySelector('#stats-month').value"),
                          "rows": len(veileder.find_elements(By.CSS_SELECTOR, "#stats-table tbody tr"))}
        result["axe"] += axe(veileder, "veileder: my figures")

        # The leder logs in at the veileder's address and is taken to the figures.
        leader = browser(size=(1000, 900))
        drivers.append(leader)
        clock_at(leader, server_now)
        leader.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": downloads})
        open_login(leader, base + "/")
        submit_login(leader, leder, leder_password)
        wait_for(leader, "return location.pathname === '/leder/'")
        wait_for(leader, "return document.body.dataset.state === 'figures' && !document.querySelector('#stats-table').hidden", seconds=20)
        figures = {"defaultMonth": leader.execute_script("return document.querySelector('#stats-month').value"),
                   "defaultCaption": text(leader, "#stats-caption"), "privacy": text(leader, "#stats-privacy")}
        this_month = leader.execute_script("const d = new Date(); return d.getFullYear() + '-' + String(d.getMonth() + 1).padStart(2, '0')")
        set_value(leader, "#stats-month", this_month)
        click(leader, "#stats-show")
        wait_for(leader, "return document.querySelector('#stats-caption').textContent.includes(%s)" % json.dumps(
            leader.execute_script("return new Intl.DateTimeFormat('nb-NO', {month: 'long'}).format(new Date())")))
        figures["caption"] = text(leader, "#stats-caption")
        figures["rows"] = leader.execute_script(
            "return [...document.querySelectorAll('#stats-table tbody tr')].map((tr) => [tr.dataset.key, tr.cells[0].textContent, tr.cells[1].textContent])")
        figures["csvHref"] = leader.execute_script("return document.querySelector('#stats-csv').getAttribute('href')")
        click(leader, "#stats-csv")
        figures["csv"] = downloaded(downloads)
        figures["english"] = both_languages(leader, "leder: figures", result, ["[data-view=figures] h1", "#stats-caption", "#stats-csv"])
        figures["englishUnder5"] = None
        screenshot(leader, "leder-figures")
        result["figures"] = figures
        result["step"] = "done"
        result["resourceHosts"] = sorted(set(resource_hosts(veileder) + resource_hosts(deltaker) + resource_hosts(leader)))
        send(result)
        return 0
    except Exception as error:
        result["error"] = repr(error)
        try:
            result["debug"] = [d.execute_script(
                "return [location.pathname, document.body.dataset.state, document.querySelector('#status')?.textContent,"
                " [...document.querySelectorAll('.problem')].filter((p) => !p.closest('[hidden]')).map((p) => p.textContent)]") for d in drivers]
        except Exception:
            pass
        send(result)
        return 1
    finally:
        for driver in drivers:
            driver.quit()
        shutil.rmtree(downloads, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
