"""The second factor in headless Chromium, for BrowserInteropTests+Identity.swift.

The server's clock is the test's and stands still, so the TOTP codes are made
in Swift, from the secret this page shows, and sent in on stdin; each step
prints one JSON line and (where it needs codes) waits for one line back.

    identity_flow.py BASE_URL veileder USERNAME PASSWORD
        The veileder sets up TOTP from the overview's «Tofaktor-innlogging»
        (a wrong first code, then a right one; the recovery codes copied,
        downloaded and put away), logs out, logs in with password and code
        (a wrong code first), with a recovery code, is refused that code the
        next time, waits past the pending login's five minutes (back to the
        password), and is throttled after too many wrong codes.
    identity_flow.py BASE_URL required USERNAME PASSWORD
        The server requires a second factor: the personvernombud's first
        login goes through setting one up and ends in the log; the page's
        own view then says it is set up and who resets it.

Lines out: {"step": "enrol", "secret": …} (answer {"wrong", "code"}),
{"step": "enrolled", …} (answer {"wrong", "code"}), {"step": "waiting", …}
(answer {"wrong"}), then the last line with "axe" and "resourceHosts".
"""
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

from selenium.webdriver.common.by import By

from samrom_browser import (
    STATUS, axe, browser, click, open_login, receive, resource_hosts, screenshot, send, shown, submit_login, text, wait_for,
)


def focused(driver):
    return driver.execute_script("const e = document.activeElement; return e ? (e.id || e.tagName) : null")


def type_into(driver, selector, value):
    element = driver.find_element(By.CSS_SELECTOR, selector)
    element.clear()
    element.send_keys(value)


def field(driver, selector):
    """What a field says about itself to assistive technology and to password managers."""
    return driver.execute_script("""
const f = document.querySelector(arguments[0]);
return { label: f.labels[0].textContent, autocomplete: f.getAttribute('autocomplete'), inputmode: f.getAttribute('inputmode'),
  invalid: f.getAttribute('aria-invalid'),
  describedBy: (f.getAttribute('aria-describedby') || '').split(' ').filter(Boolean).map((id) => document.getElementById(id)?.textContent ?? id) };
""", selector)


def decode_qr(driver):
    """Scans the QR code as the page draws it (a screenshot of the <img>) with zbarimg."""
    if not shutil.which("zbarimg"):
        return None
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "qr.png")
        driver.find_element(By.ID, "enrol-qr").screenshot(path)
        scan = subprocess.run(["zbarimg", "--raw", "-q", path], capture_output=True, text=True)
        return scan.stdout.strip() or None


def enrolment_shown(driver, where):
    """The enrolment panel as shown: headings, focus, the QR code (scanned), the secret, the field."""
    # (the panel is made the first time it is needed)
    wait_for(driver, "const qr = document.querySelector('#enrol-qr');"
                     " return document.querySelector('#enrol')?.hidden === false && document.querySelector('#enrol-secret').textContent !== ''"
                     " && qr.complete && qr.naturalWidth > 0")
    seen = {
        "heading": text(driver, "#enrol-heading"),
        "focus": focused(driver),
        "required": shown(driver, "#enrol-required"),
        "secret": text(driver, "#enrol-secret"),
        "qr": driver.execute_script("""
const img = document.querySelector('#enrol-qr');
return { alt: img.alt, label: img.getAttribute('aria-label'), src: img.src.slice(0, 19), width: img.naturalWidth,
  inDocument: document.querySelectorAll('svg').length };"""),
        "qrDecoded": decode_qr(driver),
        "field": field(driver, "#enrol-code"),
        "status": driver.execute_script(STATUS),
    }
    return seen


def both_languages(driver, where, result, extra=None):
    """axe on the page as it is, in bokmål and in English; what the English page says."""
    result["axe"] += axe(driver, where)
    click(driver, "#language")
    english = {"lang": driver.execute_script("return document.documentElement.lang")}
    for selector in extra or ():
        english[selector] = text(driver, selector)
    result["axe"] += axe(driver, where + " (English)")
    click(driver, "#language")
    return english


def wait_problem(driver, selector, before=""):
    """Waits until a problem line is shown with a new text; returns it."""
    wait_for(driver, "const p = document.querySelector(%s); return !p.hidden && p.textContent !== %s" % (
        json.dumps(selector), json.dumps(before)))
    return text(driver, selector)


def submit_code(driver, code):
    """Types a code into the login's second step and submits it; once the page has its
    answer (the button is enabled again), the problem it shows, if any."""
    type_into(driver, "#second-step-code", code)
    click(driver, "#second-step button[type=submit]")
    wait_for(driver, "return !document.querySelector('#second-step button[type=submit]').disabled")
    return text(driver, "#second-step-problem") if shown(driver, "#second-step-problem") else None


def submit_enrol_code(driver, code):
    type_into(driver, "#enrol-code", code)
    click(driver, "#enrol-form button[type=submit]")
    wait_for(driver, "return !document.querySelector('#enrol-form button[type=submit]').disabled")
    return text(driver, "#enrol-problem") if shown(driver, "#enrol-problem") else None


def to_second_step(driver, username, password):
    submit_login(driver, username, password)
    wait_for(driver, "return !document.querySelector('#second-step').hidden")


def log_out(driver):
    click(driver, "#logout")
    wait_for(driver, "return document.body.dataset.state === 'login'")


def recovery_codes_shown(driver, where, result, downloads):
    """The recovery codes: read, copied, downloaded, axe-checked; not yet put away."""
    wait_for(driver, "return !document.querySelector('#recovery').hidden")
    codes = [item.text for item in driver.find_elements(By.CSS_SELECTOR, "#recovery-codes li")]
    seen = {
        "codes": codes,
        "heading": text(driver, "#recovery-heading"),
        "focus": focused(driver),
        "important": text(driver, ".recovery .keep"),
        "status": driver.execute_script(STATUS),
        "enrolHidden": not shown(driver, "#enrol"),
        "secretCleared": text(driver, "#enrol-secret") == "",
        "backShown": shown(driver, "#second-factor-back"),
    }
    click(driver, "#recovery-copy")
    wait_for(driver, "const s = document.querySelector('#status').textContent; return s.includes('kopiert') || s.includes('merket')")
    seen["copyStatus"] = driver.execute_script(STATUS)
    seen["clipboard"] = driver.execute_async_script(
        "const done = arguments[0]; navigator.clipboard.readText().then(done, (e) => done('unreadable: ' + e))")
    click(driver, "#recovery-download")
    deadline = time.time() + 10
    files = []
    while time.time() < deadline:
        files = [f for f in os.listdir(downloads) if not f.endswith(".crdownload")]
        if files:
            break
        time.sleep(0.1)
    seen["downloaded"] = {f: pathlib.Path(downloads, f).read_text(encoding="utf-8") for f in files}
    seen["english"] = both_languages(driver, where, result, ["#recovery-heading", "#recovery-saved", "#recovery-download"])
    return seen


def veileder(driver, base, username, password, result, downloads):
    open_login(driver, base + "/")
    submit_login(driver, username, password)
    wait_for(driver, "return document.body.dataset.state === 'list'")

    # The overview's «Tofaktor-innlogging»: not set up.
    click(driver, "#second-factor-open")
    wait_for(driver, "return document.body.dataset.state === 'second-factor'")
    page = {"off": {"status": text(driver, "#second-factor-status"), "focus": focused(driver),
                    "start": shown(driver, "#second-factor-start"), "reset": shown(driver, "#second-factor-reset")}}
    result["axe"] += axe(driver, "veileder: two-factor view, not set up")
    # «Avbryt» once: back to the state, the keyboard on «Sett opp»; then for real.
    click(driver, "#second-factor-start")
    enrolment_shown(driver, "veileder")
    click(driver, "#enrol-cancel")
    wait_for(driver, "return document.querySelector('#enrol').hidden && !document.querySelector('#second-factor-state').hidden")
    page["cancelled"] = {"focus": focused(driver), "status": text(driver, "#second-factor-status"), "secretCleared": text(driver, "#enrol-secret") == ""}
    click(driver, "#second-factor-start")
    enrol = enrolment_shown(driver, "veileder")
    page["backDuringEnrolment"] = shown(driver, "#second-factor-back")
    screenshot(driver, "veileder-enrol")
    enrol["english"] = both_languages(driver, "veileder: enrolment", result, ["#enrol-heading", "#enrol-form button[type=submit]"])
    send({"step": "enrol", "page": page, "enrol": enrol})
    answer = receive()

    # Too short, then a wrong code, then the right one.
    enrol_problems = {"short": submit_enrol_code(driver, "12345")}
    enrol_problems["wrong"] = submit_enrol_code(driver, answer["wrong"])
    enrol_problems["field"] = field(driver, "#enrol-code")
    enrol_problems["focus"] = focused(driver)
    enrol_problems["status"] = driver.execute_script(STATUS)
    result["axe"] += axe(driver, "veileder: enrolment, wrong code")
    submit_enrol_code(driver, answer["code"][:3] + " " + answer["code"][3:])  # as an app groups them
    recovery = recovery_codes_shown(driver, "veileder: recovery codes", result, downloads)
    screenshot(driver, "veileder-recovery-codes")
    click(driver, "#recovery-saved")
    wait_for(driver, "return document.querySelector('#second-factor-status').dataset.enrolled === 'true'")
    page["on"] = {"status": text(driver, "#second-factor-status"), "focus": focused(driver),
                  "reset": text(driver, "#second-factor-reset"), "command": text(driver, "#second-factor-command"),
                  "start": shown(driver, "#second-factor-start"), "back": shown(driver, "#second-factor-back"),
                  "recoveryHidden": not shown(driver, "#recovery"), "codesForgotten": text(driver, "#recovery-codes") == ""}
    result["axe"] += axe(driver, "veileder: two-factor view, set up")
    screenshot(driver, "veileder-second-factor-on")
    click(driver, "#second-factor-back")
    wait_for(driver, "return document.body.dataset.state === 'list'")
    log_out(driver)
    send({"step": "enrolled", "enrolProblems": enrol_problems, "recovery": recovery, "page": page})
    answer = receive()
    codes = recovery["codes"]

    # Password, then the code from the app (a wrong one first).
    to_second_step(driver, username, password)
    login = {"focus": focused(driver), "heading": text(driver, "#second-step-heading"), "field": field(driver, "#second-step-code"),
             "passwordFormHidden": not shown(driver, "#login-form"), "passwordCleared": driver.find_element(By.ID, "password").get_attribute("value") == "",
             "kind": text(driver, "#second-step-kind"), "status": driver.execute_script(STATUS)}
    screenshot(driver, "veileder-second-factor")
    login["english"] = both_languages(driver, "login: second step", result, ["#second-step-heading", "#second-step-label", "#second-step-kind"])
    login["wrong"] = submit_code(driver, answer["wrong"])
    login["wrongField"] = field(driver, "#second-step-code")
    login["wrongFocus"] = focused(driver)
    login["wrongStatus"] = driver.execute_script(STATUS)
    result["axe"] += axe(driver, "login: second step, wrong code")
    submit_code(driver, answer["code"])
    wait_for(driver, "return document.body.dataset.state === 'list'")
    login["loggedIn"] = text(driver, "#me")
    log_out(driver)
    login["afterLogout"] = {"passwordForm": shown(driver, "#login-form"), "codeFormHidden": not shown(driver, "#second-step")}

    # A recovery code, typed in capitals with spaces.
    to_second_step(driver, username, password)
    click(driver, "#second-step-kind")
    with_recovery = {"field": field(driver, "#second-step-code"), "kind": text(driver, "#second-step-kind"), "focus": focused(driver)}
    result["axe"] += axe(driver, "login: second step, recovery code")
    submit_code(driver, codes[0].upper().replace("-", " "))
    wait_for(driver, "return document.body.dataset.state === 'list'")
    with_recovery["loggedIn"] = text(driver, "#me")
    log_out(driver)

    # The same recovery code again: refused, said; another one works.
    to_second_step(driver, username, password)
    click(driver, "#second-step-kind")
    with_recovery["reused"] = submit_code(driver, codes[0])
    with_recovery["reusedStatus"] = driver.execute_script(STATUS)
    submit_code(driver, codes[1])
    wait_for(driver, "return document.body.dataset.state === 'list'")
    with_recovery["secondCodeLoggedIn"] = text(driver, "#me")
    log_out(driver)

    # «Avbryt» on the second step: back to the password, nothing said to be wrong.
    to_second_step(driver, username, password)
    click(driver, "#second-step-cancel")
    wait_for(driver, "return !document.querySelector('#login-form').hidden")
    login["cancel"] = {"focus": focused(driver), "problemHidden": not shown(driver, "#login-problem"),
                       "stepHidden": not shown(driver, "#second-step")}

    # A login left waiting past its five minutes.
    to_second_step(driver, username, password)
    send({"step": "waiting", "login": login, "recovery": with_recovery})
    answer = receive()
    submit_code(driver, answer["wrong"])
    wait_for(driver, "return !document.querySelector('#login-form').hidden")
    expired = {"problem": wait_problem(driver, "#login-problem"), "focus": focused(driver),
               "codeFormHidden": not shown(driver, "#second-step"),
               "username": driver.find_element(By.ID, "username").get_attribute("value"),
               "status": driver.execute_script(STATUS)}
    result["axe"] += axe(driver, "login: expired, back to the password")

    # Wrong codes until the server says to wait.
    to_second_step(driver, username, password)
    messages = []
    for _ in range(6):
        message = submit_code(driver, answer["wrong"])
        if not shown(driver, "#second-step"):
            messages.append("back to the password: %s" % text(driver, "#login-problem"))
            break
        messages.append(message)
        if message and message.startswith("For mange"):
            break
    result["axe"] += axe(driver, "login: second step, throttled")
    expired["throttled"] = messages
    expired["throttledStatus"] = driver.execute_script(STATUS)
    result["expired"] = expired


def required(driver, base, username, password, result, downloads):
    open_login(driver, base + "/audit/")
    submit_login(driver, username, password)
    enrol = enrolment_shown(driver, "personvernombud")
    enrol["state"] = driver.execute_script("return document.body.dataset.state")
    enrol["passwordFormHidden"] = not shown(driver, "#login-form")
    enrol["requiredText"] = text(driver, "#enrol-required")
    screenshot(driver, "personvernombud-enrol-at-login")
    enrol["english"] = both_languages(driver, "personvernombud: enrolment at login", result, ["#enrol-heading", "#enrol-required"])
    send({"step": "enrol", "enrol": enrol})
    answer = receive()

    problems = {"wrong": submit_enrol_code(driver, answer["wrong"])}
    submit_enrol_code(driver, answer["code"])
    recovery = recovery_codes_shown(driver, "personvernombud: recovery codes at login", result, downloads)
    recovery["stateBeforeSaved"] = driver.execute_script("return document.body.dataset.state")
    click(driver, "#recovery-saved")
    wait_for(driver, "return document.body.dataset.state === 'log'")
    recovery["loggedIn"] = text(driver, "#me")
    recovery["focusAfter"] = focused(driver)

    click(driver, "#second-factor-open")
    wait_for(driver, "return document.body.dataset.state === 'second-factor'")
    page = {"status": text(driver, "#second-factor-status"), "reset": text(driver, "#second-factor-reset"),
            "again": text(driver, "#second-factor-again"), "command": text(driver, "#second-factor-command"),
            "start": shown(driver, "#second-factor-start")}
    page["english"] = both_languages(driver, "personvernombud: two-factor view, set up", result, ["#second-factor-status", "#second-factor-reset"])
    click(driver, "#second-factor-back")
    wait_for(driver, "return document.body.dataset.state === 'log'")
    result.update({"problems": problems, "recovery": recovery, "page": page})


def main():
    base, mode, username, password = sys.argv[1:5]
    downloads = tempfile.mkdtemp(prefix="samrom-downloads-")
    driver = browser(size=(1100, 900))
    result = {"axe": []}
    try:
        driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": downloads})
        driver.execute_cdp_cmd("Browser.grantPermissions", {
            "origin": base, "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]})
        (veileder if mode == "veileder" else required)(driver, base, username, password, result, downloads)
        result["step"] = "done"
        result["resourceHosts"] = resource_hosts(driver)
        send(result)
        return 0
    except Exception as error:
        result["error"] = repr(error)
        try:
            result["debug"] = driver.execute_script(
                "return [document.body.dataset.state, document.querySelector('#status')?.textContent,"
                " [...document.querySelectorAll('.problem')].filter((p) => !p.hidden).map((p) => p.textContent)]")
        except Exception:
            pass
        send(result)
        return 1
    finally:
        driver.quit()
        shutil.rmtree(downloads, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
