// @ts-check
/**
 * The veileder's invitations for a booked consultation (issue 16), in the
 * overview's `#invitation` panel: the calendar file (the veileder's copy with
 * the title; the deltaker's without it), a ready SMS text to copy, and an
 * e-mail sent through the municipality's SMTP server when the server has one
 * (`/api/me`'s `invitations.email`). Nothing says what the consultation is
 * about.
 *
 * The join link: the server keeps only its hash, so the page knows it only
 * right after making it (a new consultation, «Ny lenke», or «Lag ny lenke»
 * here), and only in memory. Then «Ta med lenken» puts it in the deltaker's
 * calendar file, the SMS and the e-mail; otherwise they go without it. The
 * e-mail address is typed each time, sent once and cleared: never stored,
 * not in the browser either.
 */
import { api, ApiError } from './api.js';
import { $, announce, say } from './ui.js';
import { t, language } from './i18n.js';
import { whenText } from './booking.js';

/**
 * @typedef {object} Booked
 * @property {string} id
 * @property {string | null} title
 * @property {string | null} [startsAt]
 * @property {number | null} [minutes]
 */

/** Join links made on this page, by consultation (memory only, gone on reload). */
/** @type {Map<string, string>} */
const knownLinks = new Map();

/**
 * Remembers a join link the page was just given.
 * @param {string} consultation
 * @param {string} joinUrl
 */
export function rememberLink(consultation, joinUrl) {
  knownLinks.set(consultation, joinUrl);
}

/** @type {Booked | null} */
let current = null;
let emailEnabled = false;

/** @param {boolean} enabled  whether the server sends e-mail (`/api/me`'s `invitations.email`) */
export function setEmailEnabled(enabled) {
  emailEnabled = enabled;
  if (current) $('#email-part').hidden = !emailEnabled;
}

/** The link to send along, when one is known and «Ta med lenken» is ticked. */
function joinUrl() {
  if (!current) return undefined;
  const link = knownLinks.get(current.id);
  return link && /** @type {HTMLInputElement} */ ($('#include-link')).checked ? link : undefined;
}

/** @param {string} key  what went well (kept across a change of language) */
function done(key) {
  $('#invitation-problem').hidden = true;
  const line = $('#invitation-done');
  say(line, key);
  line.hidden = false;
  announce(line.textContent ?? '');
}

/**
 * Says what went wrong, in words for the codes the API gives.
 * @param {unknown} error
 */
function failed(error) {
  const problem = $('#invitation-problem');
  $('#invitation-done').hidden = true;
  let key = 'invite.error.other';
  if (error instanceof ApiError) {
    if (error.code === 'no-smtp') key = 'invite.error.no-smtp';
    else if (error.code === 'smtp-failed') key = 'invite.error.smtp-failed';
    else if (error.code === 'not-booked') key = 'invite.error.not-booked';
    else if (error.code === 'bad-field' && /joinUrl/.test(error.message)) key = 'invite.error.old-link';
    else if (error.code === 'bad-field' && /"to"/.test(error.message)) key = 'invite.error.bad-address';
  }
  problem.textContent = t(key, { reason: /** @type {Error} */ (error).message });
  problem.hidden = false;
  announce(problem.textContent);
  return key;
}

/** Shows whether the link can go along, and how to get one. */
function showLinkState() {
  const known = !!current && knownLinks.has(current.id);
  $('#invitation-link-known').hidden = !known;
  $('#invitation-link-unknown').hidden = known;
}

/**
 * Opens the panel for a booked consultation.
 * @param {Booked} consultation
 * @param {{focus?: boolean}} options
 */
export function openInvitation(consultation, { focus = true } = {}) {
  const changed = current?.id !== consultation.id;
  current = consultation;
  const panel = $('#invitation');
  $('#invitation-heading').textContent = t('invite.heading', { title: consultation.title || t('veileder.untitled') });
  $('#invitation-when').textContent = consultation.startsAt
    ? t('invite.when', { when: whenText(consultation.startsAt), minutes: String(consultation.minutes ?? 30) }) : '';
  if (changed) {
    /** @type {HTMLInputElement} */ ($('#include-link')).checked = false;
    $('#sms-box').hidden = true;
    /** @type {HTMLTextAreaElement} */ ($('#sms-text')).value = '';
    /** @type {HTMLInputElement} */ ($('#email-to')).value = '';
    $('#invitation-problem').hidden = true;
    $('#invitation-done').hidden = true;
  }
  showLinkState();
  $('#email-part').hidden = !emailEnabled;
  panel.hidden = false;
  panel.dataset.consultation = consultation.id;
  if (focus) {
    const heading = $('#invitation-heading');
    heading.tabIndex = -1;
    heading.focus();
  }
}

/** Closes the panel; the link and the address go with it. */
export function closeInvitation() {
  current = null;
  $('#invitation').hidden = true;
  /** @type {HTMLInputElement} */ ($('#email-to')).value = '';
  /** @type {HTMLTextAreaElement} */ ($('#sms-text')).value = '';
}

/** The consultation the panel is open for, if any. */
export function invitationFor() {
  return current?.id ?? null;
}

/**
 * Saves a response body as a file.
 * @param {Blob} blob
 * @param {string} name
 */
function save(blob, name) {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/**
 * Downloads a calendar file: GET for a copy without the link, POST with it.
 * @param {'veileder' | 'deltaker'} copy
 */
async function downloadCalendar(copy) {
  if (!current) return;
  const id = current.id;
  const link = copy === 'deltaker' ? joinUrl() : undefined;
  const path = `/api/consultations/${encodeURIComponent(id)}/calendar.ics`;
  try {
    const response = link
      ? await fetch(path, {
        method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ copy, joinUrl: link, language: language() }),
      })
      : await fetch(`${path}?copy=${copy}&lang=${language()}`);
    if (!response.ok) {
      const body = await response.json().catch(() => null);
      throw new ApiError(body?.error?.code ?? 'http', body?.error?.message ?? `HTTP ${response.status}`, response.status);
    }
    save(await response.blob(), copy === 'deltaker' ? 'samtale.ics' : 'samtale-veileder.ics');
    done('invite.downloaded');
  } catch (error) {
    failed(error);
  }
}

/**
 * Fetches the ready SMS text and shows it to copy.
 * @param {'invitation' | 'reminder'} kind
 */
async function makeSms(kind) {
  if (!current) return;
  try {
    const texts = await api(`/api/consultations/${encodeURIComponent(current.id)}/invitation`, {
      method: 'POST', body: JSON.stringify({ kind, joinUrl: joinUrl(), language: language() }),
    });
    const area = /** @type {HTMLTextAreaElement} */ ($('#sms-text'));
    area.value = texts.sms;
    area.dataset.kind = kind;
    $('#sms-box').hidden = false;
    done('invite.smsReady');
    area.focus();
    area.select();
  } catch (error) {
    failed(error);
  }
}

async function copySms() {
  const area = /** @type {HTMLTextAreaElement} */ ($('#sms-text'));
  try {
    await navigator.clipboard.writeText(area.value);
    done('invite.smsCopied');
  } catch {
    area.focus();
    area.select();
    done('invite.copyByHand');
  }
}

/**
 * Sends the e-mail; the address is cleared once sent.
 * @param {'invitation' | 'reminder'} kind
 */
async function sendEmail(kind) {
  if (!current) return;
  const input = /** @type {HTMLInputElement} */ ($('#email-to'));
  const to = input.value.trim();
  input.removeAttribute('aria-invalid');
  if (!to) {
    input.setAttribute('aria-invalid', 'true');
    const problem = $('#invitation-problem');
    say(problem, 'invite.emailMissing');
    problem.hidden = false;
    $('#invitation-done').hidden = true;
    announce(problem.textContent ?? '');
    input.focus();
    return;
  }
  const buttons = /** @type {HTMLButtonElement[]} */ ([$('#email-invitation'), $('#email-reminder')]);
  for (const button of buttons) button.disabled = true;
  try {
    await api(`/api/consultations/${encodeURIComponent(current.id)}/invitation/email`, {
      method: 'POST', body: JSON.stringify({ to, kind, joinUrl: joinUrl(), language: language() }),
    });
    input.value = '';
    done(`invite.sent.${kind}`);
  } catch (error) {
    if (failed(error) === 'invite.error.bad-address') {
      input.setAttribute('aria-invalid', 'true');
      input.focus();
    }
  } finally {
    for (const button of buttons) button.disabled = false;
  }
}

/**
 * Wires the panel's buttons once.
 * @param {(id: string) => Promise<string | null>} newLink  makes a new deltaker link for a consultation, resolves with it
 */
export function bindInvitations(newLink) {
  $('#ics-own').addEventListener('click', () => downloadCalendar('veileder'));
  $('#ics-deltaker').addEventListener('click', () => downloadCalendar('deltaker'));
  $('#sms-invitation').addEventListener('click', () => makeSms('invitation'));
  $('#sms-reminder').addEventListener('click', () => makeSms('reminder'));
  $('#sms-copy').addEventListener('click', copySms);
  const form = /** @type {HTMLFormElement} */ ($('#email-form'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const submitter = /** @type {SubmitEvent} */ (event).submitter;
    sendEmail(submitter?.dataset.kind === 'reminder' ? 'reminder' : 'invitation');
  });
  $('#invitation-new-link').addEventListener('click', async () => {
    if (!current) return;
    const id = current.id;
    try {
      const link = await newLink(id);
      if (!link || current?.id !== id) return;
      showLinkState();
      /** @type {HTMLInputElement} */ ($('#include-link')).checked = true;
      done('invite.newLinkMade');
      $('#include-link').focus();
    } catch (error) {
      failed(error);
    }
  });
  $('#invitation-close').addEventListener('click', () => {
    const id = current?.id;
    closeInvitation();
    const back = id ? document.querySelector(`li[data-consultation="${CSS.escape(id)}"] .invite-open`) : null;
    if (back instanceof HTMLElement) back.focus();
  });
  // Redraw the panel's own texts in the new language.
  document.addEventListener('samrom:language', () => {
    if (current) openInvitation(current, { focus: false });
  });
}
