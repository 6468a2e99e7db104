// @ts-check
/**
 * What every page may tell anyone, from the running server's configuration
 * (`GET /api/about`, public, fetched once per page load): how sound and video
 * travel, how long the server keeps the sealed chat and the access log, and
 * the municipality's privacy notice and accessibility statement. Nothing here
 * is written into the pages: a number that could not be fetched is never
 * shown, rather than a wrong one.
 *
 * lib/page.js calls `renderAbout()`, which puts in place
 *   - the footer (a `<footer>` after `<main>`) with the two links, when the
 *     server has them; no footer at all when it has neither;
 *   - every `<ul data-about="facts">`: «Slik foregår samtalen» as a list;
 *   - every `<p data-about="privacy-notice">`: a link to the privacy notice,
 *     hidden when there is none;
 * and redraws them on the `samrom:language` event.
 */
import { t } from './i18n.js';
import { api } from './api.js';

/**
 * @typedef {object} About
 * @property {'direct' | 'relay-when-needed' | 'relay-always'} mediaPath
 * @property {number} chatRetentionDays
 * @property {number} auditRetentionDays
 * @property {string | null} privacyNoticeUrl
 * @property {string | null} accessibilityStatementUrl
 */

/** @type {Promise<About | null> | null} */
let fetched = null;

/**
 * The server's facts, fetched once; `null` when they could not be had (the
 * pages then show only what does not depend on them).
 * @returns {Promise<About | null>}
 */
export function about() {
  fetched ??= api('/api/about').then(checked, () => null);
  return fetched;
}

/**
 * The answer, if it has the expected shape; links only as absolute https URLs.
 * @param {any} body
 * @returns {About | null}
 */
function checked(body) {
  const days = (/** @type {unknown} */ value) => Number.isInteger(value) && /** @type {number} */ (value) >= 0;
  if (!body || !['direct', 'relay-when-needed', 'relay-always'].includes(body.mediaPath)
    || !days(body.chatRetentionDays) || !days(body.auditRetentionDays)) return null;
  return {
    mediaPath: body.mediaPath,
    chatRetentionDays: body.chatRetentionDays,
    auditRetentionDays: body.auditRetentionDays,
    privacyNoticeUrl: link(body.privacyNoticeUrl),
    accessibilityStatementUrl: link(body.accessibilityStatementUrl),
  };
}

/**
 * @param {unknown} value
 * @returns {string | null}
 */
function link(value) {
  if (typeof value !== 'string') return null;
  try {
    return new URL(value).protocol === 'https:' ? value : null;
  } catch {
    return null;
  }
}

/**
 * A number of days in words: whole years when it is a whole number of years
 * of 365 or 366 days ("5 år" for 1826), else days ("7 dager").
 * @param {number} days
 */
export function duration(days) {
  const years = Math.round(days / 365.25);
  if (years >= 1 && days >= years * 365 && days <= years * 366) {
    return t(years === 1 ? 'about.year' : 'about.years', { n: years });
  }
  return t(days === 1 ? 'about.day' : 'about.days', { n: days });
}

/**
 * The facts about the call, in the current language, one sentence group each.
 * @param {About | null} facts
 * @returns {string[]}
 */
export function factTexts(facts) {
  if (!facts) return [t('about.media.unknown'), t('about.noRecording'), t('about.chat'), t('about.log')];
  const chatDeleted = facts.chatRetentionDays === 0
    ? t('about.chatDeletedAtEnd') : t('about.chatDeletedAfter', { time: duration(facts.chatRetentionDays) });
  return [
    t(`about.media.${facts.mediaPath}`),
    t('about.noRecording'),
    `${t('about.chat')} ${chatDeleted}`,
    `${t('about.log')} ${t('about.logKept', { time: duration(facts.auditRetentionDays) })}`,
  ];
}

/** The page shows the call (links from there open in a new tab, so the call goes on). */
function inCall() {
  const state = document.body.dataset.state;
  return state === 'call' || state === 'room';
}

/**
 * A link to one of the municipality's pages: opened in this tab, except from
 * the call, where it opens in a new tab and says so.
 * @param {string} href
 * @param {string} key
 */
function outsideLink(href, key) {
  const a = document.createElement('a');
  a.href = href;
  a.rel = 'noopener noreferrer';
  a.textContent = t(key);
  if (inCall()) {
    a.target = '_blank';
    const note = document.createElement('span');
    note.className = 'new-tab';
    note.textContent = ` ${t('about.newTab')}`;
    a.append(note);
  }
  return a;
}

/**
 * The footer after <main>, with the links the server has; none without any.
 * @param {About | null} facts
 */
function renderFooter(facts) {
  const links = /** @type {[string | null, string][]} */ ([
    [facts?.privacyNoticeUrl ?? null, 'about.privacyNotice'],
    [facts?.accessibilityStatementUrl ?? null, 'about.accessibilityStatement'],
  ]).filter(([href]) => href);
  let footer = document.querySelector('footer.site-footer');
  if (links.length === 0) {
    footer?.remove();
    return;
  }
  if (!footer) {
    footer = document.createElement('footer');
    footer.className = 'site-footer';
    (document.querySelector('main') ?? document.body.lastElementChild)?.after(footer);
  }
  const list = document.createElement('ul');
  for (const [href, key] of links) {
    const item = document.createElement('li');
    item.append(outsideLink(/** @type {string} */ (href), key));
    list.append(item);
  }
  footer.replaceChildren(list);
}

/**
 * «Slik foregår samtalen» in every `[data-about=facts]` list, and the link to
 * the privacy notice in every `[data-about=privacy-notice]`.
 * @param {About | null} facts
 */
function renderFacts(facts) {
  for (const list of document.querySelectorAll('[data-about="facts"]')) {
    list.replaceChildren(...factTexts(facts).map((text) => {
      const item = document.createElement('li');
      item.textContent = text;
      return item;
    }));
  }
  for (const holder of document.querySelectorAll('[data-about="privacy-notice"]')) {
    const href = facts?.privacyNoticeUrl;
    /** @type {HTMLElement} */ (holder).hidden = !href;
    holder.replaceChildren(...(href ? [outsideLink(href, 'about.readMore')] : []));
  }
}

/**
 * Puts the footer and the facts in place: at once what does not depend on
 * the server, the rest when its answer comes; again on a change of language,
 * and when the page goes into or out of the call.
 */
export function renderAbout() {
  /** @type {About | null} */
  let facts = null;
  const draw = () => {
    renderFooter(facts);
    renderFacts(facts);
  };
  renderFacts(null);
  about().then((answer) => {
    facts = answer;
    draw();
    // Said on <body> for the tests: the server's facts are in place, or could not be had.
    document.body.dataset.about = answer ? 'shown' : 'unavailable';
  });
  document.addEventListener('samrom:language', draw);
  let wasInCall = inCall();
  new MutationObserver(() => {
    if (inCall() === wasInCall) return;
    wasInCall = inCall();
    renderFooter(facts);
  }).observe(document.body, { attributes: true, attributeFilter: ['data-state'] });
}
