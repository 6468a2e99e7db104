"""Headless Chromium for Samrom's browser tests, started the same way everywhere.

The tests run inside a loopback-only network namespace (scripts/in-loopback-netns.sh),
so nothing the browser does can leave the machine; Selenium Manager is kept
offline and the Debian chromedriver that matches the browser is used.
"""
import os

os.environ["SE_OFFLINE"] = "true"  # never let Selenium Manager reach the internet
from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402

FLAGS = (
    "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
)

MEDIA_FLAGS = (
    "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
    "--allow-loopback-in-peer-connection", "--autoplay-policy=no-user-gesture-required",
)


def browser(media=False):
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in FLAGS + (MEDIA_FLAGS if media else ()):
        options.add_argument(flag)
    options.accept_insecure_certs = True  # the test CA is not in Chromium's store
    driver = webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))
    driver.set_script_timeout(30)
    return driver


def resource_hosts(driver):
    """Every host the page loaded anything from."""
    return sorted(set(driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => new URL(e.name).host)")))
