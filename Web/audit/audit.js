// @ts-check
/**
 * The personvernombud's page: state a purpose, filter, read, export and
 * verify the audit log (docs/audit.md). Every read is logged by the server
 * with the purpose given here.
 */
import '/lib/page.js';
import { api } from '/lib/api.js';
import { $, show, announce, say } from '/lib/ui.js';
import { bindLogin, bindSecondFactorPage } from '/lib/identity.js';
import { t } from '/lib/i18n.js';

/** @type {number | null} */
let next = null;

/**
 * A query string with spaces as %20: the server percent-decodes and reads
 * '+' literally, unlike URLSearchParams' form encoding.
 * @param {URLSearchParams} params
 */
function encode(params) {
  return [...params].map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
}

/** @param {{username: string, role: string}} me */
function enter(me) {
  $('#me').textContent = me.username;
  show('log');
  if (me.role !== 'privacy-officer') announce(t('audit.notOfficer'));
}

/** @param {boolean} more */
function query(more) {
  const value = (/** @type {string} */ id) => /** @type {HTMLInputElement} */ ($(id)).value.trim();
  const params = new URLSearchParams({ purpose: value('#purpose'), limit: '100' });
  for (const [name, id] of [['action', '#action'], ['outcome', '#outcome'], ['consultation', '#consultation'], ['actor', '#actor']]) {
    if (value(id)) params.set(name, value(id));
  }
  for (const [name, id] of [['from', '#from'], ['to', '#to']]) {
    if (value(id)) params.set(name, new Date(value(id)).toISOString());
  }
  if (more && next !== null) params.set('after', String(next));
  return params;
}

/** @param {boolean} more */
async function search(more) {
  const problem = $('#search-problem');
  if (!/** @type {HTMLInputElement} */ ($('#purpose')).value.trim()) {
    problem.hidden = false;
    say(problem, 'audit.needPurpose');
    $('#purpose').focus();
    return;
  }
  problem.hidden = true;
  try {
    const result = await api(`/api/audit?${encode(query(more))}`);
    const body = /** @type {HTMLTableElement} */ ($('#entries')).tBodies[0];
    if (!more) body.replaceChildren();
    for (const entry of result.entries) body.append(row(entry));
    next = result.next ?? null;
    $('#more').hidden = !result.more;
    announce(t(result.more ? 'audit.shownMore' : 'audit.shown', { count: body.rows.length }));
  } catch (error) {
    problem.hidden = false;
    problem.textContent = /** @type {Error} */ (error).message;
  }
}

/** @param {any} entry */
function row(entry) {
  const tr = document.createElement('tr');
  if (entry.outcome !== 'allowed') tr.className = 'denied';
  const who = [entry.actor.role ?? entry.actor.kind, entry.actor.id].filter(Boolean).join(' ');
  const cells = [String(entry.seq), entry.at.replace('T', ' ').replace('Z', ''), who, entry.action, entry.consultation ?? '',
    t(`outcome.${entry.outcome}`), entry.reason, entry.client?.ip ?? ''];
  for (const text of cells) {
    const td = document.createElement('td');
    td.textContent = text;
    tr.append(td);
  }
  return tr;
}

/** @param {'jsonl' | 'csv'} format */
function exportLog(format) {
  const purpose = /** @type {HTMLInputElement} */ ($('#purpose')).value.trim();
  if (!purpose) {
    $('#search-problem').hidden = false;
    say($('#search-problem'), 'audit.needExportPurpose');
    return;
  }
  location.href = `/api/audit/export?${encode(new URLSearchParams({ purpose, format }))}`;
}

async function verify() {
  const verdict = $('#verify-result');
  verdict.textContent = t('audit.verifying');
  try {
    const result = await api('/api/audit/verify');
    verdict.className = result.intact ? 'verdict intact' : 'verdict broken';
    verdict.textContent = result.intact
      ? t('audit.intact', { size: result.size, checkpoints: result.checkpointsVerified })
      : t('audit.broken', { reason: result.failure?.reason ?? t('audit.unknownFailure') });
    $('#checkpoint').textContent = result.checkpoint;
    $('#verifier-key').textContent = result.verifierKey;
    announce(verdict.textContent);
  } catch (error) {
    verdict.textContent = /** @type {Error} */ (error).message;
  }
}

bindLogin(enter);
bindSecondFactorPage($('#second-factor-open'), () => show('log'));
$('#search-form').addEventListener('submit', (event) => {
  event.preventDefault();
  search(false);
});
$('#more').addEventListener('click', () => search(true));
$('#export-jsonl').addEventListener('click', () => exportLog('jsonl'));
$('#export-csv').addEventListener('click', () => exportLog('csv'));
$('#verify').addEventListener('click', verify);
api('/api/me').then(enter, () => show('login'));
