// @ts-check
/**
 * What every page shares, put in place before the page's own script runs
 * (import this module first): the login form, the call's stage of video
 * tiles, the list of people in the call and the chat panel, rendered from one
 * template each into `<div data-template="login|stage|people|chat">`; the
 * language switch at the top of <main>; every `data-i18n` text in the
 * chosen language (lib/i18n.js); and the footer with the municipality's
 * privacy notice and accessibility statement, and the facts about the call
 * where a page asks for them, from the server's configuration (lib/about.js).
 *
 * In the HTML, an element names its text by key:
 *   data-i18n="key"              → textContent
 *   data-i18n-label="key"        → aria-label
 *   data-i18n-placeholder="key"  → placeholder
 *   <html data-i18n-title="key"> → document.title
 * After a language change the document gets a `samrom:language` event, so a
 * page can redraw what it built itself.
 */
import { t, language, setLanguage } from './i18n.js';
import { renderAbout } from './about.js';

/** The shared pieces, each in exactly one place. No user data ever goes in here. */
const templates = {
  login: `
    <form id="login-form" novalidate>
      <p><label for="username" data-i18n="login.username"></label><br>
        <input id="username" name="username" autocomplete="username" required></p>
      <p><label for="password" data-i18n="login.password"></label><br>
        <input id="password" name="password" type="password" autocomplete="current-password" required></p>
      <p id="login-problem" class="problem" hidden></p>
      <button type="submit" class="primary" data-i18n="login.submit"></button>
    </form>`,
  stage: `
    <div class="stage">
      <ul id="tiles" class="tiles" data-layout="speaker" data-i18n-label="call.tiles"></ul>
      <p class="layout-switch"><button type="button" id="layout" aria-pressed="false" data-i18n="call.sameSize"></button></p>
    </div>`,
  people: `
    <section class="people" aria-labelledby="people-heading">
      <h2 id="people-heading" data-i18n="call.people"></h2>
      <ul id="participants" class="participants"></ul>
    </section>`,
  chat: `
    <section class="chat" aria-labelledby="chat-heading">
      <h2 id="chat-heading" data-i18n="chat.heading"></h2>
      <p class="safety"><span data-i18n="code.label"></span> <strong id="safety-code" data-i18n="code.waiting"></strong>
        <button type="button" id="code-confirm" hidden aria-describedby="code-help" data-i18n="code.confirm"></button>
        <span id="code-verified" hidden tabindex="-1"><span aria-hidden="true">✓ </span><span data-i18n="code.verified"></span></span><br>
        <small id="code-help" data-i18n="code.help"></small></p>
      <p id="code-warning" class="problem" hidden data-i18n="code.mismatchHelp"></p>
      <p id="key-warning" class="problem" hidden data-i18n="chat.keyWarning"></p>
      <ol id="messages" class="messages" aria-live="polite"></ol>
      <form id="chat-form">
        <label for="chat-input" data-i18n="chat.message"></label>
        <input id="chat-input" autocomplete="off" maxlength="4000">
        <button type="submit" data-i18n="chat.send"></button>
      </form>
    </section>`,
};

/** Replaces each `data-template` placeholder with its template. */
function renderTemplates() {
  for (const placeholder of document.querySelectorAll('[data-template]')) {
    const name = /** @type {keyof typeof templates} */ (/** @type {HTMLElement} */ (placeholder).dataset.template);
    const html = templates[name];
    if (!html) continue;
    const template = document.createElement('template');
    template.innerHTML = html;
    placeholder.replaceWith(template.content);
  }
}

/**
 * Puts every keyed text of `root` in the current language.
 * @param {ParentNode} [root]
 */
export function translate(root = document) {
  document.documentElement.lang = language();
  const title = document.documentElement.dataset.i18nTitle;
  if (title) document.title = t(title);
  for (const element of root.querySelectorAll('[data-i18n]')) {
    element.textContent = t(/** @type {string} */ (/** @type {HTMLElement} */ (element).dataset.i18n));
  }
  for (const element of root.querySelectorAll('[data-i18n-label]')) {
    element.setAttribute('aria-label', t(/** @type {string} */ (/** @type {HTMLElement} */ (element).dataset.i18nLabel)));
  }
  for (const element of root.querySelectorAll('[data-i18n-placeholder]')) {
    element.setAttribute('placeholder', t(/** @type {string} */ (/** @type {HTMLElement} */ (element).dataset.i18nPlaceholder)));
  }
  const other = language() === 'nb' ? 'en' : 'nb';
  // The switch names the other language in that language ("English", "Norsk").
  document.getElementById('language')?.setAttribute('lang', other);
}

/** The language switch, first in <main>. */
function renderSwitch() {
  const main = document.querySelector('main');
  if (!main || document.getElementById('language')) return;
  const wrapper = document.createElement('p');
  wrapper.className = 'language';
  const button = document.createElement('button');
  button.type = 'button';
  button.id = 'language';
  button.className = 'link';
  button.dataset.i18n = 'language.switch';
  button.addEventListener('click', () => {
    setLanguage(language() === 'nb' ? 'en' : 'nb');
    translate();
    document.dispatchEvent(new Event('samrom:language'));
  });
  wrapper.append(button);
  main.prepend(wrapper);
}

renderTemplates();
renderSwitch();
translate();
renderAbout();
