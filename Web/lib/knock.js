// @ts-check
/**
 * Telling the veileder that someone is waiting, without DOM: a short soft
 * chime made with Web Audio (no sound file is fetched) and, if the veileder
 * allowed it after clicking "Varsle meg", a desktop notification that says
 * only "Noen venter i venterommet" – no title, no name, no link.
 * At most one alert per consultation per 30 seconds, however many knocks.
 *
 *     const alerts = new KnockAlert({ body: () => t('notify.body') });
 *     alerts.knock(consultationId);   // → true if it chimed
 *
 * Events: `alert` (detail: {consultation, notified}) for each alert given,
 * `suppressed` (detail: {consultation}) for each knock inside the quiet time.
 */

export const QUIET_MS = 30_000;

/**
 * At most one event per key in `quietMs`; time is passed in, so tests need no clock.
 */
export class RateLimit {
  /** @param {number} quietMs */
  constructor(quietMs) {
    this.quietMs = quietMs;
    /** @type {Map<string, number>} */
    this.last = new Map();
  }

  /**
   * @param {string} key
   * @param {number} now  milliseconds
   * @returns {boolean} whether the event may happen now
   */
  allow(key, now) {
    const last = this.last.get(key);
    if (last !== undefined && now - last < this.quietMs) return false;
    this.last.set(key, now);
    return true;
  }
}

/** Whether this browser can show desktop notifications at all. */
export function notificationsSupported() {
  return typeof globalThis.Notification === 'function';
}

/**
 * Asks for permission to notify; call it only from a click.
 * @returns {Promise<NotificationPermission | 'unsupported'>}
 */
export async function askNotificationPermission() {
  if (!notificationsSupported()) return 'unsupported';
  if (Notification.permission !== 'default') return Notification.permission;
  return Notification.requestPermission();
}

export class KnockAlert extends EventTarget {
  /**
   * @param {object} options
   * @param {() => string} options.body  the notification's only text (in the current language)
   * @param {() => number} [options.now]
   */
  constructor({ body, now = () => Date.now() }) {
    super();
    this.body = body;
    this.now = now;
    this.limit = new RateLimit(QUIET_MS);
    /** @type {AudioContext | null} */
    this.audio = null;
  }

  /**
   * Someone knocked in a consultation.
   * @param {string} consultation
   * @returns {boolean} whether an alert was given (false inside the quiet time)
   */
  knock(consultation) {
    if (!this.limit.allow(consultation, this.now())) {
      this.dispatchEvent(new CustomEvent('suppressed', { detail: { consultation } }));
      return false;
    }
    this.chime();
    const notified = this.notify();
    this.dispatchEvent(new CustomEvent('alert', { detail: { consultation, notified } }));
    return true;
  }

  /** Two soft sine notes, rising, 0.6 s in all, quiet. */
  chime() {
    try {
      this.audio ??= new AudioContext();
      const context = this.audio;
      context.resume().catch(() => {});
      const start = context.currentTime + 0.02;
      for (const [offset, frequency] of [[0, 660], [0.22, 880]]) {
        const oscillator = context.createOscillator();
        const gain = context.createGain();
        oscillator.type = 'sine';
        oscillator.frequency.value = frequency;
        const at = start + offset;
        gain.gain.setValueAtTime(0.0001, at);
        gain.gain.exponentialRampToValueAtTime(0.12, at + 0.03);
        gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.38);
        oscillator.connect(gain).connect(context.destination);
        oscillator.start(at);
        oscillator.stop(at + 0.4);
      }
    } catch {
      // No Web Audio here: the highlight and the live region still tell.
    }
  }

  /** @returns {boolean} whether a notification was shown */
  notify() {
    if (!notificationsSupported() || Notification.permission !== 'granted') return false;
    try {
      // One tag: a new knock replaces the old notification instead of piling up.
      const notification = new Notification('Samrom', { body: this.body(), tag: 'samrom-knock', silent: true });
      notification.addEventListener('click', () => {
        globalThis.focus?.();
        notification.close();
      });
      return true;
    } catch {
      return false;
    }
  }
}
