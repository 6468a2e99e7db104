// @ts-check
/**
 * The HTTP API (docs/protocol.md, docs/audit.md) for the pages, without DOM.
 * Errors carry the API's stable `code`.
 */

export class ApiError extends Error {
  /**
   * @param {string} code
   * @param {string} message
   * @param {number} status
   * @param {number | null} [retryAfter]  seconds, from a 429's or 503's Retry-After
   */
  constructor(code, message, status, retryAfter = null) {
    super(message);
    this.code = code;
    this.status = status;
    this.retryAfter = retryAfter;
  }
}

/**
 * @param {string} path
 * @param {RequestInit} [init]
 * @returns {Promise<any>}
 */
export async function api(path, init = {}) {
  const response = await fetch(path, { ...init, headers: { 'Content-Type': 'application/json', ...(init.headers ?? {}) } });
  const type = response.headers.get('content-type') ?? '';
  const body = response.status === 204 ? null
    : type.includes('json') ? await response.json().catch(() => null) : await response.text();
  if (!response.ok) {
    const wait = Number.parseInt(response.headers.get('retry-after') ?? '', 10);
    throw new ApiError(body?.error?.code ?? 'http', body?.error?.message ?? `HTTP ${response.status}`, response.status,
      Number.isFinite(wait) && wait >= 0 ? wait : null);
  }
  return body;
}

/**
 * @typedef {object} Me
 * @property {number} id
 * @property {string} username
 * @property {string} role
 * @property {boolean} secondFactor  a TOTP second factor is set up
 */

/**
 * What a right password leads to: a session (and who is logged in), or a
 * step still to take before there is one: a code from the authenticator
 * app, or setting one up (the server requires it). The pending login lives
 * in an HttpOnly cookie the page never sees; it lasts a few minutes and a
 * few codes.
 * @typedef {{me: Me} | {next: 'second-factor' | 'enrol-second-factor'}} LoginResult
 */

/**
 * Logs in with a password.
 * @param {string} username
 * @param {string} password
 * @returns {Promise<LoginResult>}
 */
export async function login(username, password) {
  const body = await api('/api/session', { method: 'POST', body: JSON.stringify({ username, password }) });
  if (body?.next === 'second-factor' || body?.next === 'enrol-second-factor') return { next: body.next };
  return { me: await api('/api/me') };
}

/**
 * The login's second step: a six-digit code from the app, or a recovery
 * code (any case; dashes and spaces do not matter). Resolves with `/api/me`.
 * Fails with `invalid-second-factor`, `login-expired` (log in again with
 * the password) or `too-many-attempts` (with `retryAfter`).
 * @param {string} code
 * @returns {Promise<Me>}
 */
export async function secondFactor(code) {
  await api('/api/session/second-factor', { method: 'POST', body: JSON.stringify({ code }) });
  return api('/api/me');
}

/**
 * @typedef {object} TotpEnrolment
 * @property {string} secret  base32, for typing into the app by hand
 * @property {string} otpauthUrl
 * @property {string} qrSvg  the URL as a QR code: a standalone SVG made by the server
 */

/**
 * Starts setting up TOTP (with a session, or with the pending login of
 * `enrol-second-factor`): a new secret, replacing one not yet confirmed.
 * Fails with `second-factor-enrolled` when one is set up already.
 * @returns {Promise<TotpEnrolment>}
 */
export function beginTotp() {
  return api('/api/me/totp', { method: 'POST' });
}

/**
 * Confirms the set-up with a first code from the app; resolves with the ten
 * recovery codes, shown once. With the pending login this also logs in.
 * Fails with `wrong-code` or `no-enrolment`.
 * @param {string} code
 * @returns {Promise<string[]>}
 */
export async function confirmTotp(code) {
  const body = await api('/api/me/totp/confirm', { method: 'POST', body: JSON.stringify({ code }) });
  return body.recoveryCodes;
}

export function logout() {
  return api('/api/session', { method: 'DELETE' });
}
