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
   */
  constructor(code, message, status) {
    super(message);
    this.code = code;
    this.status = status;
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
    throw new ApiError(body?.error?.code ?? 'http', body?.error?.message ?? `HTTP ${response.status}`, response.status);
  }
  return body;
}

/**
 * Logs in; resolves with `/api/me`.
 * @param {string} username
 * @param {string} password
 * @returns {Promise<{id: number, username: string, role: string}>}
 */
export async function login(username, password) {
  await api('/api/session', { method: 'POST', body: JSON.stringify({ username, password }) });
  return api('/api/me');
}

export function logout() {
  return api('/api/session', { method: 'DELETE' });
}
