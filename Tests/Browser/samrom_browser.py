"""Headless Chromium for Samrom's browser tests, started the same way everywhere.

The tests run inside a loopback-only network namespace (scripts/in-loopback-netns.sh),
so nothing the browser does can leave the machine; Selenium Manager is kept
offline and the Debian chromedriver that matches the browser is used.
"""
import base64
import json
import os
import pathlib
import sys
import time

os.environ["SE_OFFLINE"] = "true"  # never let Selenium Manager reach the internet
from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402

FLAGS = (
    "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
)

MEDIA_FLAGS = (
    "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
    "--allow-loopback-in-peer-connection", "--autoplay-policy=no-user-gesture-required",
)


# getDisplayMedia without a picker: the fake UI accepts, the fake device is the "screen".
SCREEN_FLAGS = ("--auto-select-desktop-capture-source=Entire screen", "--enable-usermedia-screen-capturing")


def browser(media=False, screen=False, size=None):
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in FLAGS + (MEDIA_FLAGS if media else ()) + (SCREEN_FLAGS if screen else ()):
        options.add_argument(flag)
    if size:
        options.add_argument("--window-size=%d,%d" % size)
    options.accept_insecure_certs = True  # the test CA is not in Chromium's store
    driver = webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))
    if size and size[0] < 500:  # narrower than a desktop window can be: a phone's screen
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                               {"width": size[0], "height": size[1], "deviceScaleFactor": 1, "mobile": True})
    driver.set_script_timeout(30)
    return driver


def screenshot(driver, name):
    """Saves the page as it looks now to $SAMROM_SCREENSHOTS/NAME.png when that
    variable is set (README's screens: `SAMROM_SCREENSHOTS=$PWD/docs/screenshots`)."""
    directory = os.environ.get("SAMROM_SCREENSHOTS")
    if not directory:
        return
    os.makedirs(directory, exist_ok=True)
    # The whole page from its top (up to a sane height), not just what the window shows.
    size = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    clip = {"x": 0, "y": 0, "width": size["width"], "height": min(size["height"], 1500), "scale": 1}
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": clip})
    with open(os.path.join(directory, name + ".png"), "wb") as file:
        file.write(base64.b64decode(shot["data"]))


def resource_hosts(driver):
    """Every host the page loaded anything from."""
    return sorted(set(driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => new URL(e.name).host)")))


AXE_SOURCE = None


def axe(driver, where):
    """Runs axe-core (WCAG 2.1 A and AA rules) on the page as it is now and
    returns its serious and critical violations as short strings."""
    global AXE_SOURCE
    if AXE_SOURCE is None:
        import axe_playwright_python
        AXE_SOURCE = (pathlib.Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text()
    driver.execute_script(AXE_SOURCE)
    result = driver.execute_async_script("""
const done = arguments[0];
axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })
  .then((r) => done(r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => v.id + ': ' + v.nodes.map((n) => n.target.join(' ')).join(', '))))
  .catch((e) => done(['axe failed: ' + e]));
""")
    return [where + " → " + line for line in result]


def wait_for(driver, condition, seconds=15):
    """Polls a JavaScript condition until it holds; fails after `seconds`."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        if driver.execute_script(condition):
            return
        time.sleep(0.05)
    raise RuntimeError("timed out waiting for: " + condition)


def open_login(driver, url):
    """Opens a page that starts at its login form, and waits for the form."""
    driver.get(url)
    wait_for(driver, "return document.body.dataset.state === 'login' && !document.querySelector('[data-view=login]').hidden")


def submit_login(driver, username, password):
    """Fills in the login form (#username, #password) and submits it."""
    for field, value in (("username", username), ("password", password)):
        element = driver.find_element(By.ID, field)
        element.clear()
        element.send_keys(value)
    driver.find_element(By.CSS_SELECTOR, "#login-form button[type=submit]").click()


# The conversation with the Swift test (a JSON line each way) and what the
# flows read off a page, shared by every flow script.

STATUS = "return document.querySelector('#status').textContent"


def send(line):
    print(json.dumps(line), flush=True)


def receive():
    line = sys.stdin.readline()
    if not line:
        raise RuntimeError("the test sent nothing")
    return json.loads(line)


def text(driver, selector):
    return driver.execute_script("const e = document.querySelector(arguments[0]); return e ? e.textContent.trim() : null", selector)


def texts(driver, selector):
    return driver.execute_script("return [...document.querySelectorAll(arguments[0])].map((e) => e.textContent.trim())", selector)


def shown(driver, selector):
    return driver.execute_script(
        "const e = document.querySelector(arguments[0]); return !!e && !e.closest('[hidden]') && e.getClientRects().length > 0", selector)


def click(driver, selector):
    driver.find_element(By.CSS_SELECTOR, selector).click()
