// @ts-check
/**
 * The anonymous monthly figures (issue 16), for the leder's page (the
 * centre's) and the veileder's «Mine tall» (their own): a month picker
 * (last month by default), the table from `GET /api/stats?month=YYYY-MM`,
 * and «Last ned CSV» (`&format=csv`). A value is a number, "under 5" (a
 * count too small to show without someone being recognisable) or null
 * (shown as «–»). Every read is logged by the server.
 *
 * Renders into an empty `<div data-stats>`; the texts keep their keys, so a
 * change of language redraws them (lib/page.js), and the table is drawn
 * again from the last answer.
 */
import { api } from './api.js';
import { announce, say } from './ui.js';
import { t, language } from './i18n.js';
import { lastMonth, monthText } from './booking.js';

/**
 * @typedef {object} Figure
 * @property {string} key
 * @property {string} label  in the server's language
 * @property {number | string | null} value
 * @typedef {{month: string, scope: 'centre' | 'veileder', figures: Figure[]}} Figures
 */

/**
 * @param {string} tag
 * @param {Record<string, string>} [attributes]
 * @param {string} [key]  a text key
 */
function element(tag, attributes = {}, key = '') {
  const made = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) made.setAttribute(name, value);
  if (key) say(made, key);
  return made;
}

/**
 * A figure's value as shown: the number, «under 5», or «–».
 * @param {number | string | null} value
 */
export function valueText(value) {
  if (value === null || value === undefined) return t('stats.none');
  if (value === 'under 5') return t('stats.under5');
  return typeof value === 'number' ? value.toLocaleString() : String(value);
}

/**
 * Fills `container` with the month picker, the explanation, the table and
 * the CSV link. `load()` shows the chosen month's figures.
 * @param {HTMLElement} container
 * @param {{explain?: boolean}} options  show the privacy note (the leder's page)
 */
export function bindStats(container, { explain = true } = {}) {
  const form = element('form', { id: 'stats-form', class: 'stats-form', novalidate: '' });
  const label = element('label', { for: 'stats-month' }, 'stats.month');
  const month = /** @type {HTMLInputElement} */ (element('input', {
    id: 'stats-month', type: 'month', name: 'month', required: '', pattern: '\\d{4}-\\d{2}', placeholder: 'YYYY-MM',
  }));
  month.value = lastMonth();
  const show = element('button', { type: 'submit', class: 'primary', id: 'stats-show' }, 'stats.show');
  const csv = /** @type {HTMLAnchorElement} */ (element('a', { id: 'stats-csv', class: 'button', download: '' }, 'stats.csv'));
  const row = element('p');
  row.append(label, element('br'), month);
  form.append(row, show, csv);
  const note = element('p', { class: 'note', id: 'stats-privacy' }, 'stats.privacy');
  note.hidden = !explain;
  const problem = element('p', { class: 'problem', id: 'stats-problem' });
  problem.hidden = true;
  const wrap = element('div', { class: 'table-wrap' });
  const table = /** @type {HTMLTableElement} */ (element('table', { id: 'stats-table' }));
  const caption = element('caption', { id: 'stats-caption' });
  const head = element('thead');
  const headRow = element('tr');
  headRow.append(element('th', { scope: 'col' }, 'stats.what'), element('th', { scope: 'col', class: 'number' }, 'stats.value'));
  head.append(headRow);
  table.append(caption, head, element('tbody'));
  table.hidden = true;
  wrap.append(table);
  container.replaceChildren(note, form, problem, wrap);

  /** @type {Figures | null} */
  let shown = null;

  const setCsv = () => {
    const value = /^\d{4}-\d{2}$/.test(month.value) ? month.value : lastMonth();
    csv.href = `/api/stats?month=${encodeURIComponent(value)}&format=csv&lang=${language()}`;
    csv.setAttribute('download', `samrom-${value}.csv`);
  };
  setCsv();
  month.addEventListener('input', setCsv);

  const draw = () => {
    if (!shown) return;
    caption.textContent = t('stats.caption', { month: monthText(shown.month) });
    const body = table.tBodies[0];
    body.replaceChildren();
    for (const figure of shown.figures) {
      const tr = element('tr');
      tr.dataset.key = figure.key;
      const what = element('th', { scope: 'row' });
      what.textContent = figure.label;
      const value = element('td', { class: 'number' });
      value.textContent = valueText(figure.value);
      tr.append(what, value);
      body.append(tr);
    }
    table.hidden = false;
  };

  const load = async () => {
    if (!/^\d{4}-\d{2}$/.test(month.value)) {
      month.value = lastMonth();
      setCsv();
    }
    problem.hidden = true;
    try {
      shown = /** @type {Figures} */ (await api(`/api/stats?month=${encodeURIComponent(month.value)}&lang=${language()}`));
      draw();
      announce(t('stats.shown', { month: monthText(shown.month) }), { supersedes: true });
    } catch (error) {
      const status = /** @type {any} */ (error).status;
      problem.textContent = status === 403 ? t('stats.forbidden') : t('stats.error', { reason: /** @type {Error} */ (error).message });
      problem.hidden = false;
      table.hidden = true;
      announce(problem.textContent ?? '');
    }
  };

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    load();
  });
  // The server words the figures in the page's language: ask again (a read like any other).
  document.addEventListener('samrom:language', () => {
    setCsv();
    if (shown && !container.closest('[hidden]')) load();
  });
  return { load };
}
