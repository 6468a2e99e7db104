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
