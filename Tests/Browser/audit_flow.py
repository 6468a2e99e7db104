"""The personvernombud's page in headless Chromium, for BrowserInteropTests.swift:
log in, try to search without a purpose, search denied entries with one,
verify the log. Prints one JSON line with what the page showed.

    audit_flow.py BASE_URL USERNAME PASSWORD PURPOSE
"""
import json
import sys

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from samrom_browser import axe, browser, open_login, resource_hosts, screenshot, submit_login, wait_for


def main():
    base, username, password, purpose = sys.argv[1:5]
    driver = browser(size=(1100, 900))
    result = {"axe": []}
    try:
        open_login(driver, base + "/audit/")
        result["axe"] += axe(driver, "personvernombud: login")
        submit_login(driver, username, password)
        wait_for(driver, "return document.body.dataset.state === 'log'")
        driver.find_element(By.CSS_SELECTOR, "#search-form button[type=submit]").click()
        wait_for(driver, "return !document.querySelector('#search-problem').hidden")
        result["withoutPurpose"] = driver.find_element(By.ID, "search-problem").text
        result["axe"] += axe(driver, "personvernombud: no purpose given")
        driver.find_element(By.ID, "purpose").send_keys(purpose)
        Select(driver.find_element(By.ID, "outcome")).select_by_value("denied")
        driver.find_element(By.CSS_SELECTOR, "#search-form button[type=submit]").click()
        wait_for(driver, "return document.querySelectorAll('#entries tbody tr').length > 0")
        result["rows"] = [row.text for row in driver.find_elements(By.CSS_SELECTOR, "#entries tbody tr")]
        driver.find_element(By.ID, "verify").click()
        wait_for(driver, "return document.querySelector('#verify-result').textContent.startsWith('Loggen')")
        result["verdict"] = driver.find_element(By.ID, "verify-result").text
        result["checkpoint"] = driver.execute_script("return document.querySelector('#checkpoint').textContent")
        result["axe"] += axe(driver, "personvernombud: results and verification")
        screenshot(driver, "personvernombud-log")
        # The page in English: the same checks, axe-clean.
        driver.find_element(By.ID, "language").click()
        result["english"] = {"lang": driver.execute_script("return document.documentElement.lang"),
                             "heading": driver.find_element(By.CSS_SELECTOR, "[data-view=log] h1").text,
                             "verify": driver.find_element(By.ID, "verify").text}
        result["axe"] += axe(driver, "personvernombud: in English")
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
