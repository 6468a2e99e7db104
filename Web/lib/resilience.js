// @ts-check
/**
 * Calm announcements while the signalling reconnects by itself
 * (lib/protocol.js), for both pages. The connection quality of each person is
 * shown on their tile (lib/grid.js); what a reloaded page needs to come back
 * is kept by lib/resume.js.
 */
import { announce } from './ui.js';
import { t } from './i18n.js';

/** @typedef {import('./protocol.js').SignallingClient} SignallingClient */

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
 * Runs `action` once the device's clock reaches `when`, plus a small random
 * delay (so that everyone waiting for the same time does not arrive in the
 * same second). Long waits are taken in steps, so a timer never overflows and
 * a computer that slept catches up. Returns a function that cancels it.
 * @param {Date} when
 * @param {() => void} action
 * @param {{jitterMs?: number, random?: () => number}} options
 */
export function atTime(when, action, { jitterMs = 5000, random = Math.random } = {}) {
  const due = when.getTime() + Math.round(random() * jitterMs);
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  const wait = () => {
    const left = due - Date.now();
    if (left <= 0) {
      timer = undefined;
      action();
      return;
    }
    timer = setTimeout(wait, Math.min(left, STEP_MS));
  };
  wait();
  return () => clearTimeout(timer);
}

/** The longest single wait of `atTime`. */
const STEP_MS = 60_000;
