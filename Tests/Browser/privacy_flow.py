"""What the pages tell about privacy, for BrowserInteropTests+Privacy.swift: the
facts from the server's configuration (GET /api/about) on the deltaker's
welcome, the municipality's links in every page's footer, and the reminders
about others in the room. Prints one JSON line with what the pages showed.

    privacy_flow.py BASE_URL USERNAME PASSWORD configured|defaults
        configured: axe-core on every screen, the welcome in English too.
"""
import json
import sys

from selenium.webdriver.common.by import By

from call_steps import create_consultation
from samrom_browser import axe, browser, open_login, resource_hosts, shown, text, texts, wait_for

# The footer as shown: its links (text, href, rel, target), and how many footers there are.
FOOTER = """
const footers = document.querySelectorAll('footer');
const links = [...document.querySelectorAll('footer a')].map((a) => ({
  text: a.textContent.trim(), href: a.getAttribute('href'), rel: a.rel, target: a.target }));
return { count: footers.length, outsideMain: [...footers].every((f) => !f.closest('main')), links };
"""


def about_shown(driver):
    wait_for(driver, "return document.body.dataset.about === 'shown'")


def footer(driver):
    return driver.execute_script(FOOTER)


def welcome(driver):
    """The deltaker's welcome: the facts, the link to the privacy notice, the reminder."""
    link = driver.execute_script(
        "const a = document.querySelector('#privacy-notice a');"
        " return a && !a.closest('[hidden]') ? { text: a.textContent.trim(), href: a.getAttribute('href'), rel: a.rel } : null")
    return {
        "lang": driver.execute_script("return document.documentElement.lang"),
        "welcomeText": text(driver, "[data-i18n='deltaker.welcomeText']"),
        "heading": text(driver, "#how-heading"),
        "facts": texts(driver, "#facts li"),
        "privacyLink": link,
        "reminder": text(driver, "#reminder"),
        "footer": footer(driver),
        # Nothing sticks out sideways on a phone's screen.
        "fitsWidth": driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth"),
    }


def main():
    base, username, password, mode = sys.argv[1:5]
    check = mode == "configured"
    driver = browser(media=True, size=(1200, 900))
    result = {"axe": [], "footers": {}}
    try:
        # Before logging in: the personvernombud's and the leader's pages.
        for path in ("/audit/", "/leder/"):
            open_login(driver, base + path)
            about_shown(driver)
            result["footers"][path] = footer(driver)
            if check:
                result["axe"] += axe(driver, path + " login")

        join_url = create_consultation(driver, base, username, password, "Personvern", result, check=False)
        about_shown(driver)
        result["footers"]["/"] = footer(driver)

        # The veileder's room: the reminder near the controls; links from the call open in a new tab.
        driver.find_element(By.XPATH, "//ul[@id='consultations']//button[text()='Åpne']").click()
        wait_for(driver, "return document.body.dataset.state === 'room'")
        result["roomReminder"] = text(driver, "#room-reminder") if shown(driver, "#room-reminder") else None
        result["roomFooter"] = footer(driver)
        if check:
            result["axe"] += axe(driver, "veileder: room")

        # The deltaker's welcome, on a phone's screen.
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                               {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True})
        driver.get(join_url)
        wait_for(driver, "return document.body.dataset.state === 'welcome'")
        about_shown(driver)
        result["welcome"] = welcome(driver)
        result["footers"]["/j/"] = result["welcome"]["footer"]
        if check:
            result["axe"] += axe(driver, "deltaker: welcome")
            driver.find_element(By.ID, "language").click()
            wait_for(driver, "return document.documentElement.lang === 'en'")
            result["welcomeEn"] = welcome(driver)
            result["axe"] += axe(driver, "deltaker: welcome in English")
        result["resourceHosts"] = resource_hosts(driver)
        print(json.dumps(result), flush=True)
        return 0
    except Exception as error:
        result["error"] = repr(error)
        print(json.dumps(result), flush=True)
        return 1
    finally:
        driver.quit()


if __name__ == "__main__":
    sys.exit(main())
