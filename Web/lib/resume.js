// @ts-check
/**
 * What the page of a deltaker or tolk keeps to come back after a reload, in
 * this tab only (sessionStorage: gone when the tab closes, never shared with
 * another tab): the link's token, the resume token of its seat in the call,
 * whether it came with a camera, and the name it chose to show.
 *
 * The link's token arrives in the address's fragment (`/j/#TOKEN`), which the
 * browser never sends to a server. It is taken out of the address bar and the
 * history as soon as it is read (`history.replaceState`), so it is not left
 * on screen, in a screenshot or in the browser's history, and kept here
 * instead, so that a reload still works.
 */

const LINK_KEY = 'samrom.link';
const RESUME_KEY = 'samrom.resume';

/**
 * The link's token: from the address (then removed from it), or kept from
 * before a reload of this tab. Empty when there is none.
 * @returns {string}
 */
export function takeLinkToken() {
  const fromAddress = location.hash.slice(1);
  if (fromAddress) {
    try {
      sessionStorage.setItem(LINK_KEY, fromAddress);
      // Only once it is kept: without storage the address must keep it for a reload.
      history.replaceState(history.state, '', location.pathname + location.search);
    } catch {
      // No storage (a private window that refuses it): the token stays in the address.
    }
    return fromAddress;
  }
  try {
    return sessionStorage.getItem(LINK_KEY) ?? '';
  } catch {
    return '';
  }
}

/**
 * Which link a stored resume token belongs to, without storing the link's
 * token twice: the first bytes of its SHA-256.
 * @param {string} token
 */
async function linkTag(token) {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(token)));
  return Array.from(digest.slice(0, 12), (byte) => byte.toString(16).padStart(2, '0')).join('');
}

/**
 * @typedef {object} Stored
 * @property {string} resume  the latest resume token of the seat
 * @property {boolean} video  came with a camera: the same is opened again
 * @property {string} name  the display name chosen ('' for none)
 */

/**
 * Keeps the latest resume token of this link in this tab.
 * @param {string} token  the link's token
 * @param {Stored} stored
 */
export async function rememberResume(token, { resume, video, name }) {
  try {
    sessionStorage.setItem(RESUME_KEY, JSON.stringify({ link: await linkTag(token), resume, video, name }));
  } catch {
    // No storage (private mode): a reload knocks again.
  }
}

/**
 * The stored resume token for this link, if any.
 * @param {string} token
 * @returns {Promise<Stored | null>}
 */
export async function storedResume(token) {
  try {
    const stored = JSON.parse(sessionStorage.getItem(RESUME_KEY) ?? 'null');
    if (stored && stored.link === await linkTag(token) && typeof stored.resume === 'string') {
      return { resume: stored.resume, video: stored.video !== false, name: typeof stored.name === 'string' ? stored.name : '' };
    }
  } catch {
    // Unreadable: as if nothing were stored.
  }
  return null;
}

export function forgetResume() {
  try {
    sessionStorage.removeItem(RESUME_KEY);
  } catch {
    // Nothing stored.
  }
}
