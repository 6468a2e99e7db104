// @ts-check
/**
 * Keeping a call going, for both pages: calm announcements while the
 * signalling reconnects by itself (lib/protocol.js), the connection-quality
 * indicator (levels from lib/rtc.js `connectionQuality`, shown in text with an
 * icon, never by colour alone), and the resume token kept for a reload of the
 * deltaker's page (sessionStorage: this tab only, gone when it closes).
 */
import { announce, say, $ } from './ui.js';
import { t } from './i18n.js';

/** @typedef {import('./protocol.js').SignallingClient} SignallingClient */
/** @typedef {import('./rtc.js').Call} Call */

/**
 * Says "Forbindelsen ble brutt. Kobler til igjen …" once when the socket
 * drops, and "Tilkoblet igjen." when it is back.
 * @param {SignallingClient} client
 */
export function announceReconnects(client) {
  let down = false;
  client.addEventListener('reconnecting', () => {
    if (down) return;
    down = true;
    document.body.dataset.connection = 'reconnecting';
    announce(t('call.reconnecting'));
  });
  client.addEventListener('reconnected', () => {
    down = false;
    document.body.dataset.connection = 'connected';
    announce(t('call.reconnected'));
  });
  client.addEventListener('lost', () => {
    down = false;
    document.body.dataset.connection = 'lost';
  });
}

/**
 * The indicator `#quality` (`data-level`, an icon drawn by style.css from
 * that level, and `#quality-text`), measured every two seconds.
 */
export class QualityIndicator {
  constructor() {
    /** @type {ReturnType<typeof setInterval> | undefined} */
    this.timer = undefined;
    /** @type {() => Call | null} */
    this.source = () => null;
  }

  /** @param {() => Call | null} source  the call to measure, if any, each time */
  follow(source) {
    this.source = source;
    clearInterval(this.timer);
    this.show('connecting');
    this.measure();
    this.timer = setInterval(() => this.measure(), 2000);
  }

  async measure() {
    const call = this.source();
    $('#quality').hidden = !call || call.closed;
    if (!call || call.closed) return;
    const state = call.pc.connectionState;
    if (state === 'new' || state === 'connecting') return this.show('connecting');
    try {
      this.show((await call.quality()).level);
    } catch {
      this.show('none');
    }
  }

  /** @param {'connecting' | import('./rtc.js').QualityLevel} level */
  show(level) {
    const element = $('#quality');
    if (element.dataset.level === level) return;
    element.dataset.level = level;
    say($('#quality-text'), `quality.${level}`);
  }

  stop() {
    clearInterval(this.timer);
    $('#quality').hidden = true;
  }
}

const RESUME_KEY = 'samrom.resume';

/**
 * Which link a stored resume token belongs to, without storing the link's
 * token itself: the first bytes of its SHA-256.
 * @param {string} token
 */
async function linkTag(token) {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(token)));
  return Array.from(digest.slice(0, 12), (byte) => byte.toString(16).padStart(2, '0')).join('');
}

/**
 * Keeps the latest resume token of this link in this tab.
 * @param {string} token  the link's token
 * @param {string} resume
 * @param {{video: boolean}} devices  what the deltaker chose, to open the same again
 */
export async function rememberResume(token, resume, devices) {
  try {
    sessionStorage.setItem(RESUME_KEY, JSON.stringify({ link: await linkTag(token), resume, video: devices.video }));
  } catch {
    // No storage (private mode): a reload knocks again.
  }
}

/**
 * The stored resume token for this link, if any.
 * @param {string} token
 * @returns {Promise<{resume: string, video: boolean} | null>}
 */
export async function storedResume(token) {
  try {
    const stored = JSON.parse(sessionStorage.getItem(RESUME_KEY) ?? 'null');
    if (stored && stored.link === await linkTag(token) && typeof stored.resume === 'string') {
      return { resume: stored.resume, video: stored.video !== false };
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
