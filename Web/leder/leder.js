// @ts-check
/**
 * The leder's page (issue 16): the centre's anonymous monthly figures, last
 * month by default, as a table and as CSV for the annual report. Counts under
 * 5 are shown as «under 5». Every read is logged by the server (`stats.read`).
 * A veileder sees only their own figures, under «Mine tall» in the overview.
 */
import '/lib/page.js';
import { api, logout } from '/lib/api.js';
import { $, show, announce } from '/lib/ui.js';
import { bindLogin, bindSecondFactorPage } from '/lib/identity.js';
import { bindStats } from '/lib/stats.js';
import { t } from '/lib/i18n.js';

const figures = bindStats(/** @type {HTMLElement} */ (document.querySelector('[data-stats]')), { explain: true });
const container = /** @type {HTMLElement} */ (document.querySelector('[data-stats]'));

/** @param {{username: string, role: string}} me */
function enter(me) {
  $('#me').textContent = me.username;
  show('figures');
  const leder = me.role === 'leder';
  $('#not-leder').hidden = leder;
  container.hidden = !leder;
  if (!leder) {
    announce(t('stats.notLeder'));
    return;
  }
  figures.load();
}

bindLogin(enter);
bindSecondFactorPage($('#second-factor-open'), () => show('figures'));
$('#logout').addEventListener('click', async () => {
  await logout();
  show('login');
});
api('/api/me').then(enter, () => show('login'));
