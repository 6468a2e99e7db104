// @ts-check
/**
 * Logging in, with the second factor (issue 15): the login form's second
 * step (a code from the authenticator app, or a recovery code), setting up
 * TOTP (a QR code made by the server, the secret to type by hand, a first
 * code) and the ten recovery codes shown once. Both the veileder's and the
 * personvernombud's page use it: in their login view, and in their own
 * "Tofaktor-innlogging" view (`<section data-view="second-factor">`).
 *
 * Nothing the server sends goes in as HTML: the QR code (an SVG string) is
 * shown as an <img> from a data: URL, where no script or external resource
 * can run or load, and every other value is text.
 */
import { login, secondFactor, beginTotp, confirmTotp, api, ApiError } from './api.js';
import { $, show, announce, say } from './ui.js';
import { t } from './i18n.js';
import { translate } from './page.js';

/** @typedef {import('./api.js').Me} Me */

/**
 * The pieces, each in one place. Only keys and fixed attributes: the values
 * are filled in as text.
 */
const templates = {
  // The login's second step, in place of the password form.
  code: `
    <form id="second-step" class="second-step" novalidate hidden aria-labelledby="second-step-heading">
      <h2 id="second-step-heading" data-i18n="identity.code.heading"></h2>
      <p id="second-step-help" data-i18n="identity.code.help"></p>
      <p><label for="second-step-code" id="second-step-label" data-i18n="identity.code.label"></label><br>
        <input id="second-step-code" name="code" autocomplete="one-time-code" inputmode="numeric" autocapitalize="off"
          spellcheck="false" maxlength="40" required aria-describedby="second-step-help"></p>
      <p id="second-step-problem" class="problem" hidden></p>
      <button type="submit" class="primary" data-i18n="login.submit"></button>
      <p class="alternatives">
        <button type="button" id="second-step-kind" class="link" data-i18n="identity.code.useRecovery"></button>
        <button type="button" id="second-step-cancel" class="link" data-i18n="identity.code.cancel"></button>
      </p>
    </form>
    <div id="login-enrol-slot"></div>`,
  // Setting up TOTP: moved to where it is needed (the login view or the page's own view).
  enrol: `
    <div id="enrol" class="enrol" hidden>
      <h2 id="enrol-heading" data-i18n="identity.enrol.heading"></h2>
      <p id="enrol-required" data-i18n="identity.enrol.required"></p>
      <ol class="enrol-steps">
        <li data-i18n="identity.enrol.app"></li>
        <li><span data-i18n="identity.enrol.scan"></span>
          <span class="qr"><img id="enrol-qr" data-i18n-label="identity.enrol.qrAlt"></span>
          <span data-i18n="identity.enrol.manual"></span><br>
          <code id="enrol-secret" class="secret"></code><br>
          <small data-i18n="identity.enrol.manualHint"></small></li>
        <li>
          <form id="enrol-form" novalidate>
            <p><label for="enrol-code" data-i18n="identity.enrol.codeLabel"></label><br>
              <input id="enrol-code" name="code" autocomplete="one-time-code" inputmode="numeric" autocapitalize="off"
                spellcheck="false" maxlength="9" required></p>
            <p id="enrol-problem" class="problem" hidden></p>
            <button type="submit" class="primary" data-i18n="identity.enrol.confirm"></button>
            <button type="button" id="enrol-cancel" data-i18n="identity.enrol.cancel"></button>
          </form></li>
      </ol>
    </div>
    <div id="recovery" class="recovery" hidden>
      <h2 id="recovery-heading" data-i18n="identity.recovery.heading"></h2>
      <p data-i18n="identity.recovery.on"></p>
      <p class="keep"><strong data-i18n="identity.recovery.important"></strong> <span data-i18n="identity.recovery.keep"></span></p>
      <ol id="recovery-codes" class="recovery-codes" data-i18n-label="identity.recovery.list"></ol>
      <p><button type="button" id="recovery-copy" data-i18n="identity.recovery.copy"></button>
        <button type="button" id="recovery-download" data-i18n="identity.recovery.download"></button></p>
      <p><button type="button" id="recovery-saved" class="primary" data-i18n="identity.recovery.saved"></button></p>
    </div>`,
  // The page's own view: whether a second factor is set up, and setting one up.
  page: `
    <div id="second-factor-state">
      <p id="second-factor-status" class="factor-status" tabindex="-1"></p>
      <p id="second-factor-about" data-i18n="identity.page.about"></p>
      <p id="second-factor-reset"><span data-i18n="identity.page.reset"></span><br>
        <code id="second-factor-command"></code></p>
      <p id="second-factor-again" data-i18n="identity.page.again"></p>
      <button type="button" id="second-factor-start" class="primary" data-i18n="identity.page.start"></button>
    </div>
    <div id="page-enrol-slot"></div>
    <p><button type="button" id="second-factor-back" data-i18n="identity.page.back"></button></p>`,
};

/**
 * Puts a template in place of (or into) an element, in the current language.
 * @param {Element} where
 * @param {keyof typeof templates} name
 * @param {'after' | 'into'} how
 */
function render(where, name, how) {
  const template = document.createElement('template');
  template.innerHTML = templates[name];
  translate(template.content);
  if (how === 'after') where.after(template.content);
  else where.append(template.content);
}

/**
 * Moves focus to an element that is not a control (a heading, a status line).
 * @param {HTMLElement} element
 */
function focusOn(element) {
  element.tabIndex = -1;
  element.focus();
}

/**
 * Shows a problem under a field, marks the field, says it, and puts the
 * keyboard back in the field.
 * @param {HTMLElement} problem
 * @param {HTMLInputElement | null} field
 * @param {string} text
 */
function complain(problem, field, text) {
  problem.hidden = false;
  problem.textContent = text;
  if (field) {
    field.setAttribute('aria-invalid', 'true');
    const described = (field.getAttribute('aria-describedby') ?? '').split(' ').filter((id) => id && id !== problem.id);
    field.setAttribute('aria-describedby', [problem.id, ...described].join(' '));
    field.focus();
    field.select();
  }
  announce(text);
}

/**
 * @param {HTMLElement} problem
 * @param {HTMLInputElement | null} field
 * @param {string} key
 */
function complainKey(problem, field, key) {
  complain(problem, field, t(key));
  problem.dataset.i18n = key;
}

/**
 * @param {HTMLElement} problem
 * @param {HTMLInputElement | null} field
 */
function clearProblem(problem, field) {
  problem.hidden = true;
  problem.textContent = '';
  delete problem.dataset.i18n;
  if (field) {
    field.removeAttribute('aria-invalid');
    const described = (field.getAttribute('aria-describedby') ?? '').split(' ').filter((id) => id && id !== problem.id);
    if (described.length) field.setAttribute('aria-describedby', described.join(' '));
    else field.removeAttribute('aria-describedby');
  }
}

/**
 * "30 sekunder": how long a throttled login must wait, in words.
 * @param {number} seconds
 */
function waitText(seconds) {
  if (seconds <= 1) return t('identity.wait.second');
  if (seconds < 90) return t('identity.wait.seconds', { n: Math.ceil(seconds) });
  return t('identity.wait.minutes', { n: Math.ceil(seconds / 60) });
}

/** @param {unknown} error */
function codeOf(error) {
  return error instanceof ApiError ? error.code : 'network';
}

/**
 * A six-digit code as typed ("123 456" from an app that groups them): the
 * digits, or null if it is not six of them.
 * @param {string} typed
 */
function sixDigits(typed) {
  const digits = typed.replace(/[\s-]/g, '');
  return /^\d{6}$/.test(digits) ? digits : null;
}

/**
 * The base32 secret in groups of four, for typing by hand.
 * @param {string} secret
 */
function grouped(secret) {
  return (secret.replace(/\s/g, '').match(/.{1,4}/g) ?? []).join(' ');
}

// ---------------------------------------------------------------------------
// Setting up TOTP and showing the recovery codes (one of each per page).

/**
 * @typedef {object} EnrolOptions
 * @property {'login' | 'page'} context  in the login flow (the server requires a second factor) or from the page's own view
 * @property {string} username  for the recovery codes' file
 * @property {() => void} onCancel
 * @property {() => void} onSaved  the recovery codes are put away: go on
 * @property {(code: string) => boolean} [onProblem]  an error code the context handles itself (true: handled)
 * @property {() => void} [onCodesShown]  the recovery codes are on screen: they are left only by `onSaved`
 */

/** @type {EnrolOptions | null} */
let enrolling = null;
/** @type {string[]} */
let shownCodes = [];

/** The enrolment and recovery-code panels, made once and moved to `slot`. */
function enrolPanels(/** @type {HTMLElement} */ slot) {
  const existing = document.getElementById('enrol-panels');
  if (existing) {
    slot.append(existing);
    return;
  }
  const holder = document.createElement('div');
  holder.id = 'enrol-panels';
  render(holder, 'enrol', 'into');
  slot.append(holder);
  bindEnrolPanels();
}

function bindEnrolPanels() {
  const form = /** @type {HTMLFormElement} */ ($('#enrol-form'));
  const field = /** @type {HTMLInputElement} */ ($('#enrol-code'));
  const problem = $('#enrol-problem');
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const options = enrolling;
    if (!options) return;
    const code = sixDigits(field.value);
    if (!code) {
      complainKey(problem, field, 'identity.code.sixDigits');
      return;
    }
    const submit = /** @type {HTMLButtonElement} */ (form.querySelector('button[type=submit]'));
    submit.disabled = true;
    try {
      const codes = await confirmTotp(code);
      clearProblem(problem, field);
      field.value = '';
      showRecoveryCodes(codes);
    } catch (error) {
      const why = codeOf(error);
      if (options.onProblem?.(why)) return;
      if (why === 'wrong-code') complainKey(problem, field, 'identity.enrol.wrong');
      else if (why === 'no-enrolment') {
        // Started again elsewhere (another tab): this QR code is no longer the one.
        complainKey(problem, null, 'identity.enrol.restarted');
        await startEnrolment(options, { keepProblem: true });
      } else complainKey(problem, field, 'identity.failed');
    } finally {
      submit.disabled = false;
    }
  });
  $('#enrol-cancel').addEventListener('click', () => {
    const options = enrolling;
    closeEnrolment();
    options?.onCancel();
  });
  $('#recovery-copy').addEventListener('click', copyCodes);
  $('#recovery-download').addEventListener('click', downloadCodes);
  $('#recovery-saved').addEventListener('click', () => {
    const options = enrolling;
    closeEnrolment();
    options?.onSaved();
  });
  document.addEventListener('samrom:language', () => {
    const qr = /** @type {HTMLImageElement} */ ($('#enrol-qr'));
    qr.alt = t('identity.enrol.qrAlt');
  });
}

/**
 * Starts setting up TOTP in `slot`: asks the server for a secret, shows the
 * QR code, the secret and the field for the first code.
 * @param {EnrolOptions} options
 * @param {{slot?: HTMLElement, keepProblem?: boolean}} [how]
 */
async function startEnrolment(options, how = {}) {
  if (how.slot) enrolPanels(how.slot);
  enrolling = options;
  const panel = $('#enrol');
  const problem = $('#enrol-problem');
  const field = /** @type {HTMLInputElement} */ ($('#enrol-code'));
  $('#enrol-required').hidden = options.context !== 'login';
  $('#recovery').hidden = true;
  if (!how.keepProblem) clearProblem(problem, field);
  /** @type {import('./api.js').TotpEnrolment} */
  let enrolment;
  try {
    enrolment = await beginTotp();
  } catch (error) {
    const why = codeOf(error);
    if (options.onProblem?.(why)) {
      closeEnrolment();
      return;
    }
    panel.hidden = false;
    complainKey(problem, null, 'identity.failed');
    return;
  }
  const qr = /** @type {HTMLImageElement} */ ($('#enrol-qr'));
  // An <img> never runs what an SVG might hold; the CSP allows data: images.
  qr.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(enrolment.qrSvg)}`;
  qr.alt = t('identity.enrol.qrAlt');
  $('#enrol-secret').textContent = grouped(enrolment.secret);
  field.value = '';
  panel.hidden = false;
  if (!how.keepProblem) {
    focusOn($('#enrol-heading'));
    announce(t('identity.enrol.started'));
  }
}

/**
 * While the recovery codes are on screen, closing or reloading the page asks
 * first: they are never shown again.
 * @param {BeforeUnloadEvent} event
 */
function askBeforeLeaving(event) {
  event.preventDefault();
}

/** Hides both panels and forgets what they showed. */
function closeEnrolment() {
  enrolling = null;
  shownCodes = [];
  removeEventListener('beforeunload', askBeforeLeaving);
  if (!document.getElementById('enrol')) return;
  $('#enrol').hidden = true;
  $('#recovery').hidden = true;
  $('#recovery-codes').replaceChildren();
  $('#enrol-secret').textContent = '';
  /** @type {HTMLImageElement} */ ($('#enrol-qr')).removeAttribute('src');
  /** @type {HTMLInputElement} */ ($('#enrol-code')).value = '';
  clearProblem($('#enrol-problem'), /** @type {HTMLInputElement} */ ($('#enrol-code')));
}

/** @param {string[]} codes */
function showRecoveryCodes(codes) {
  shownCodes = codes;
  $('#enrol').hidden = true;
  $('#enrol-secret').textContent = '';
  /** @type {HTMLImageElement} */ ($('#enrol-qr')).removeAttribute('src');
  const list = $('#recovery-codes');
  list.replaceChildren(...codes.map((code) => {
    const item = document.createElement('li');
    const text = document.createElement('code');
    text.textContent = code;
    item.append(text);
    return item;
  }));
  $('#recovery').hidden = false;
  addEventListener('beforeunload', askBeforeLeaving);
  enrolling?.onCodesShown?.();
  focusOn($('#recovery-heading'));
  announce(t('identity.recovery.shown'));
}

/** The recovery codes as a text file's lines. */
function codesText() {
  const who = enrolling?.username ?? '';
  return [
    t('identity.recovery.fileTitle', { username: who, host: location.host }),
    t('identity.recovery.fileKeep'),
    '',
    ...shownCodes.map((code, index) => `${String(index + 1).padStart(2, ' ')}. ${code}`),
    '',
  ].join('\r\n');
}

async function copyCodes() {
  try {
    await navigator.clipboard.writeText(codesText());
    announce(t('identity.recovery.copied'));
  } catch {
    // Where the browser does not let the page write: select them for Ctrl+C.
    const range = document.createRange();
    range.selectNodeContents($('#recovery-codes'));
    const selection = getSelection();
    selection?.removeAllRanges();
    selection?.addRange(range);
    announce(t('identity.recovery.copyByHand'));
  }
}

function downloadCodes() {
  const url = URL.createObjectURL(new Blob([codesText()], { type: 'text/plain;charset=utf-8' }));
  const link = document.createElement('a');
  link.href = url;
  link.download = t('identity.recovery.fileName');
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  announce(t('identity.recovery.downloaded', { file: link.download }));
}

// ---------------------------------------------------------------------------
// The login form.

/**
 * The login form (#login-form, #username, #password, #login-problem) of a
 * page, with its second step: after a right password the server may ask for
 * a code from the authenticator app (or a recovery code), or, when it
 * requires a second factor and the account has none, for one to be set up
 * first; that ends logged in once the recovery codes are put away.
 * @param {(me: Me) => void} onLoggedIn
 */
export function bindLogin(onLoggedIn) {
  const form = /** @type {HTMLFormElement} */ ($('#login-form'));
  render(form, 'code', 'after');
  bindOpenIDLogin(form);
  const codeForm = /** @type {HTMLFormElement} */ ($('#second-step'));
  const field = /** @type {HTMLInputElement} */ ($('#second-step-code'));
  const codeProblem = $('#second-step-problem');
  const kind = $('#second-step-kind');
  /** What the second step takes: the app's code, or a recovery code. */
  let recovery = false;

  const username = () => /** @type {HTMLInputElement} */ ($('#username')).value;
  const password = /** @type {HTMLInputElement} */ ($('#password'));

  /** @param {boolean} useRecovery */
  const setKind = (useRecovery) => {
    recovery = useRecovery;
    say($('#second-step-label'), recovery ? 'identity.code.recoveryLabel' : 'identity.code.label');
    say($('#second-step-help'), recovery ? 'identity.code.recoveryHelp' : 'identity.code.help');
    say(kind, recovery ? 'identity.code.useApp' : 'identity.code.useRecovery');
    field.inputMode = recovery ? 'text' : 'numeric';
    field.autocomplete = recovery ? 'off' : 'one-time-code';
    field.value = '';
    clearProblem(codeProblem, field);
  };

  /** Back to the password form (a new login), optionally saying why. */
  const passwordStep = (/** @type {string | null} */ why = null) => {
    codeForm.hidden = true;
    closeEnrolment();
    form.hidden = false;
    field.value = '';
    const problem = $('#login-problem');
    if (why) {
      complainKey(problem, null, why);
    } else {
      problem.hidden = true;
    }
    (username() ? password : /** @type {HTMLInputElement} */ ($('#username'))).focus();
  };

  /** @param {Me} me */
  const loggedIn = (me) => {
    codeForm.hidden = true;
    closeEnrolment();
    form.hidden = false;
    $('#login-problem').hidden = true;
    password.value = '';
    field.value = '';
    onLoggedIn(me);
  };

  /**
   * What every step does with the errors that end or delay the login.
   * @param {unknown} error
   * @param {HTMLElement} problem
   * @param {HTMLInputElement | null} at
   */
  const stepFailed = (error, problem, at) => {
    const why = codeOf(error);
    if (why === 'login-expired') passwordStep('identity.expired');
    else if (why === 'too-many-attempts' || why === 'busy') {
      const wait = /** @type {ApiError} */ (error).retryAfter;
      if (wait === null) {
        complainKey(problem, at, why === 'busy' ? 'identity.failed' : 'login.tooMany');
      } else {
        complain(problem, at, t(why === 'busy' ? 'identity.busy' : 'login.tooManyWait', { wait: waitText(wait) }));
        delete problem.dataset.i18n;
      }
    } else return false;
    return true;
  };

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const problem = $('#login-problem');
    try {
      const result = await login(username(), password.value);
      problem.hidden = true;
      if ('me' in result) {
        loggedIn(result.me);
        return;
      }
      // The password is right; it is not needed again on this page.
      password.value = '';
      form.hidden = true;
      if (result.next === 'second-factor') {
        setKind(false);
        codeForm.hidden = false;
        field.focus();
        announce(t('identity.code.asked'));
      } else {
        startEnrolment({
          context: 'login',
          username: username(),
          onCancel: () => passwordStep(),
          onSaved: async () => {
            try {
              loggedIn(await api('/api/me'));
            } catch {
              passwordStep('identity.expired');
            }
          },
          onProblem: (why) => {
            if (why === 'login-expired' || why === 'unauthenticated') passwordStep('identity.expired');
            else if (why === 'second-factor-enrolled') passwordStep('identity.enrol.already');
            else return false;
            return true;
          },
        }, { slot: $('#login-enrol-slot') });
      }
    } catch (error) {
      if (stepFailed(error, problem, null)) return;
      complainKey(problem, null, codeOf(error) === 'invalid-credentials' ? 'login.wrong' : 'identity.failed');
    }
  });

  codeForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const typed = field.value.trim();
    const code = recovery ? typed : sixDigits(typed);
    if (!code) {
      complainKey(codeProblem, field, recovery ? 'identity.code.needRecovery' : 'identity.code.sixDigits');
      return;
    }
    const submit = /** @type {HTMLButtonElement} */ (codeForm.querySelector('button[type=submit]'));
    submit.disabled = true;
    try {
      const me = await secondFactor(code);
      clearProblem(codeProblem, field);
      loggedIn(me);
    } catch (error) {
      if (stepFailed(error, codeProblem, field)) return;
      const why = codeOf(error);
      complainKey(codeProblem, field, why === 'invalid-second-factor'
        ? (recovery ? 'identity.code.wrongRecovery' : 'identity.code.wrong') : 'identity.failed');
    } finally {
      submit.disabled = false;
    }
  });
  kind.addEventListener('click', () => {
    setKind(!recovery);
    field.focus();
  });
  $('#second-step-cancel').addEventListener('click', () => passwordStep());
}

// ---------------------------------------------------------------------------
// Logging in with the organisation's identity provider (OpenID Connect).

/** What `/api/session/oidc` may come back with, in `#login-error=CODE`. */
const OIDC_ERRORS = ['oidc-state', 'oidc-denied', 'oidc-refused', 'oidc-token', 'oidc-unavailable', 'oidc-no-account'];

/**
 * "Logg inn med {name}" beside the password form when the server has an
 * identity provider (a plain navigation: the provider's page, then back here
 * logged in), and the message for a `#login-error=CODE` it came back with.
 * @param {HTMLFormElement} form
 */
function bindOpenIDLogin(form) {
  const holder = document.createElement('div');
  holder.className = 'oidc-login';
  holder.hidden = true;
  const problem = document.createElement('p');
  problem.id = 'oidc-problem';
  problem.className = 'problem';
  problem.setAttribute('role', 'alert');
  problem.hidden = true;
  const link = document.createElement('a');
  link.id = 'oidc-login';
  link.className = 'button primary';
  link.href = '/api/session/oidc';
  const or = document.createElement('p');
  or.className = 'or';
  or.dataset.i18n = 'identity.oidc.or';
  or.textContent = t('identity.oidc.or');
  const linkLine = document.createElement('p');
  linkLine.append(link);
  holder.append(or, linkLine);
  form.before(problem);
  form.after(holder);

  /** @type {string | null} */
  let providerName = null;
  const label = () => { if (providerName !== null) link.textContent = t('identity.oidc.login', { name: providerName }); };
  document.addEventListener('samrom:language', label);

  const match = /^#login-error=([a-z-]+)$/.exec(location.hash);
  if (match) {
    history.replaceState(history.state, '', location.pathname + location.search);
    const code = OIDC_ERRORS.includes(match[1]) ? match[1] : 'oidc-other';
    problem.hidden = false;
    say(problem, `identity.oidc.error.${code}`);
    announce(problem.textContent ?? '');
  }

  api('/api/session/options').then((/** @type {{oidc: {name: string} | null}} */ options) => {
    if (!options?.oidc) return;
    providerName = String(options.oidc.name ?? '');
    label();
    // Beside the password form only: not while its second step or setting up TOTP is on screen.
    const follow = () => { holder.hidden = form.hidden; };
    new MutationObserver(follow).observe(form, { attributes: true, attributeFilter: ['hidden'] });
    follow();
  }).catch(() => {});
}

// ---------------------------------------------------------------------------
// The page's own view.

/**
 * The page's "Tofaktor-innlogging" view (`<section data-view="second-factor">`
 * with a `[data-second-factor]` placeholder): whether a second factor is set
 * up, setting one up, and who resets a lost one.
 * @param {HTMLElement} opener  the button in the page's header that opens it
 * @param {() => void} onBack  back to where the page was
 */
export function bindSecondFactorPage(opener, onBack) {
  const placeholder = $('[data-view="second-factor"] [data-second-factor]');
  render(placeholder, 'page', 'into');
  const back = $('#second-factor-back');
  /** @type {Me | null} */
  let me = null;

  /** @param {boolean} enrolled */
  const showState = (enrolled) => {
    $('#second-factor-state').hidden = false;
    say($('#second-factor-status'), enrolled ? 'identity.page.on' : 'identity.page.off');
    $('#second-factor-status').dataset.enrolled = String(enrolled);
    $('#second-factor-about').hidden = enrolled;
    $('#second-factor-start').hidden = enrolled;
    $('#second-factor-reset').hidden = !enrolled;
    $('#second-factor-again').hidden = !enrolled;
    $('#second-factor-command').textContent = `samrom user reset-second-factor ${me?.username ?? ''}`.trim();
    back.hidden = false;
  };

  opener.addEventListener('click', async () => {
    try {
      me = await api('/api/me');
    } catch {
      return;
    }
    closeEnrolment();
    showState(Boolean(me?.secondFactor));
    show('second-factor');
  });
  back.addEventListener('click', () => {
    closeEnrolment();
    onBack();
  });
  $('#second-factor-start').addEventListener('click', () => {
    $('#second-factor-state').hidden = true;
    startEnrolment({
      context: 'page',
      username: me?.username ?? '',
      onCancel: () => {
        showState(false);
        $('#second-factor-start').focus();
      },
      onCodesShown: () => { back.hidden = true; },
      onSaved: () => {
        showState(true);
        focusOn($('#second-factor-status'));
        announce(t('identity.page.on'));
      },
      onProblem: (why) => {
        if (why !== 'second-factor-enrolled') return false;
        // Set up meanwhile (another tab): say so.
        showState(true);
        focusOn($('#second-factor-status'));
        return true;
      },
    }, { slot: $('#page-enrol-slot') });
  });
}
