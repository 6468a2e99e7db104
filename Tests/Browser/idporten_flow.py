"""Logging in with OpenID Connect in headless Chromium, for BrowserInteropTests+Identity.swift.

    idporten_flow.py BASE_URL

The real provider (oidc-provider-mock) acts both as the staff's identity
provider and as ID-porten; its authorization page is a form with a `sub`
field, filled in here as a person would.

The veileder: a `#login-error=oidc-no-account` comes back as a message (and
leaves the address), then «Logg inn med Testby ID» logs in as kari-sub and
makes a consultation. The deltaker: «Logg inn med ID-porten» on the welcome,
«Deny» at the provider (its answer has no state: oidc-state, a message, the join link kept), then again as
high-sub: «Du er identifisert med ID-porten», and knocks. The veileder sees
the identified knock, with «ID-porten» chosen, and lets them in.

One JSON line out, with "axe" and "resourceHosts".
"""
import json
import sys

from selenium.webdriver.common.by import By

from samrom_browser import axe, browser, open_login, resource_hosts, screenshot, wait_for

STATUS = "return document.querySelector('#status').textContent"


def text(driver, selector):
    return driver.execute_script("const e = document.querySelector(arguments[0]); return e ? e.textContent.trim() : null", selector)


def shown(driver, selector):
    return driver.execute_script(
        "const e = document.querySelector(arguments[0]); return !!e && !e.closest('[hidden]') && e.getClientRects().length > 0", selector)


def at_provider(driver, sub=None):
    """On the provider's authorization page: picks `sub`, or denies (None)."""
    wait_for(driver, "return !!document.querySelector('input[name=sub]')")
    if sub is None:
        driver.find_element(By.CSS_SELECTOR, "button[name=action][value=deny]").click()
        return
    field = driver.find_element(By.CSS_SELECTOR, "input[name=sub]")
    field.send_keys(sub)
    field.find_element(By.XPATH, "./ancestor::form").find_element(By.CSS_SELECTOR, "button[type=submit]").click()


def staff(driver, base, result):
    # Back from the provider with an error: said, and gone from the address.
    open_login(driver, base + "/#login-error=oidc-no-account")
    wait_for(driver, "return !document.querySelector('#oidc-problem').hidden && !document.querySelector('.oidc-login').hidden")
    wait_for(driver, "return document.querySelector('#status').textContent.length > 0")
    login = {"problem": text(driver, "#oidc-problem"), "hash": driver.execute_script("return location.hash"),
             "status": driver.execute_script(STATUS), "button": text(driver, "#oidc-login"),
             "href": driver.execute_script("return document.querySelector('#oidc-login').getAttribute('href')"),
             "passwordForm": shown(driver, "#login-form")}
    result["axe"] += axe(driver, "veileder: login with an identity provider, after an error")
    screenshot(driver, "login-oidc")
    driver.find_element(By.ID, "language").click()
    login["english"] = {"button": text(driver, "#oidc-login"), "problem": text(driver, "#oidc-problem")}
    result["axe"] += axe(driver, "veileder: login with an identity provider, in English")
    driver.find_element(By.ID, "language").click()
    driver.find_element(By.ID, "oidc-login").click()
    at_provider(driver, "kari-sub")
    wait_for(driver, "return document.body.dataset.state === 'list'")
    login["loggedInAt"] = driver.execute_script("return location.pathname + location.hash")
    result["staff"] = login

    driver.find_element(By.ID, "title").send_keys("Identifisert")
    driver.find_element(By.CSS_SELECTOR, "#create-form button[type=submit]").click()
    wait_for(driver, "return document.querySelector('#join-url').value.includes('/j/#')")
    return driver.find_element(By.ID, "join-url").get_attribute("value")


def deltaker(driver, join_url, result):
    driver.get(join_url)
    wait_for(driver, "return document.body.dataset.state === 'welcome' && !document.querySelector('#id-porten').hidden")
    welcome = {"button": text(driver, "#id-porten-login"), "help": text(driver, "#id-porten-help"),
               "href": driver.execute_script("return document.querySelector('#id-porten-login').getAttribute('href')"),
               "hashBefore": driver.execute_script("return location.hash")}
    result["axe"] += axe(driver, "deltaker: welcome with ID-porten")
    # Denied at ID-porten: a message, and the link still works.
    driver.find_element(By.ID, "id-porten-login").click()
    at_provider(driver, None)
    wait_for(driver, "return document.body.dataset.state === 'welcome' && !document.querySelector('#id-porten-problem').hidden")
    welcome["denied"] = {"problem": text(driver, "#id-porten-problem"), "hash": driver.execute_script("return location.hash"),
                         "kept": driver.execute_script("return sessionStorage.getItem('samrom.idPorten.return')")}
    result["axe"] += axe(driver, "deltaker: ID-porten login denied")
    # Then for real.
    driver.find_element(By.ID, "id-porten-login").click()
    at_provider(driver, "high-sub")
    wait_for(driver, "return document.body.dataset.state === 'welcome' && !document.querySelector('#id-porten-verified').hidden")
    wait_for(driver, "return document.querySelector('#status').textContent.length > 0")
    welcome["verified"] = {"note": text(driver, "#id-porten-verified"), "hash": driver.execute_script("return location.hash"),
                           "path": driver.execute_script("return location.pathname + location.search"),
                           "kept": driver.execute_script("return sessionStorage.getItem('samrom.idPorten.return')"),
                           "problemHidden": not shown(driver, "#id-porten-problem"), "offerHidden": not shown(driver, "#id-porten-login"),
                           "status": driver.execute_script(STATUS)}
    result["axe"] += axe(driver, "deltaker: identified with ID-porten")
    screenshot(driver, "deltaker-id-porten")
    result["deltaker"] = welcome
    driver.find_element(By.ID, "join-audio-only").click()
    wait_for(driver, "return document.body.dataset.state === 'lobby'")


def admit(driver, other, result):
    wait_for(driver, "return document.querySelector('#consultations li.waiting') !== null", seconds=10)
    driver.find_element(By.XPATH, "//li[contains(@class,'waiting')]//button[text()='Åpne']").click()
    wait_for(driver, "return document.querySelector('#lobby li') !== null")
    lobby = {"identified": text(driver, "#lobby li .identified"), "legend": text(driver, "#lobby li legend"),
             "choices": driver.execute_script(
                 "return [...document.querySelectorAll('#lobby li input[type=radio]')].map((r) =>"
                 " [r.value, r.parentElement.textContent.trim(), r.checked])"),
             "help": text(driver, "#lobby li fieldset small")}
    result["axe"] += axe(driver, "veileder: room with an identified knock")
    screenshot(driver, "veileder-identified-knock")
    result["lobby"] = lobby
    driver.find_element(By.XPATH, "//ul[@id='lobby']//button[text()='Slipp inn']").click()
    wait_for(other, "return document.body.dataset.state === 'call'", seconds=20)


def main():
    base = sys.argv[1]
    result = {"axe": []}
    veileder = browser(size=(1100, 900))
    person = None
    try:
        join_url = staff(veileder, base, result)
        person = browser(media=True, size=(1100, 900))
        deltaker(person, join_url, result)
        admit(veileder, person, result)
        result["step"] = "done"
        result["resourceHosts"] = sorted(set(resource_hosts(veileder)) | set(resource_hosts(person)))
        print(json.dumps(result), flush=True)
        return 0
    except Exception as error:
        result["error"] = repr(error)
        debug = {}
        for name, driver in (("veileder", veileder), ("deltaker", person)):
            if driver is None:
                continue
            try:
                debug[name] = driver.execute_script(
                    "return [location.href, document.body && document.body.dataset.state, document.querySelector('#status')?.textContent,"
                    " [...document.querySelectorAll('.problem')].filter((p) => !p.hidden).map((p) => p.textContent),"
                    " document.body && document.body.innerText.slice(0, 400)]")
            except Exception as inner:
                debug[name] = repr(inner)
        result["debug"] = debug
        print(json.dumps(result), flush=True)
        return 1
    finally:
        veileder.quit()
        if person is not None:
            person.quit()


if __name__ == "__main__":
    sys.exit(main())
