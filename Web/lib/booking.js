// @ts-check
/**
 * Booked times (issue 16), without DOM: the server sends and takes RFC 3339
 * instants; the pages show them in the device's local time and in the page's
 * language ("tirsdag 8. desember kl. 10:00", "Tuesday 8 December at 10:00").
 */
import { t, locale } from './i18n.js';

/**
 * @typedef {object} Booking
 * @property {string} startsAt  RFC 3339
 * @property {number} minutes
 */

/**
 * The day and month in words, with the weekday: "tirsdag 8. desember".
 * @param {Date} date
 */
export function dayText(date) {
  return new Intl.DateTimeFormat(locale(), { weekday: 'long', day: 'numeric', month: 'long' }).format(date);
}

/**
 * The time of day: "10:00".
 * @param {Date} date
 */
export function clockText(date) {
  return new Intl.DateTimeFormat(locale(), { hour: '2-digit', minute: '2-digit', hour12: false }).format(date);
}

/**
 * When, in full: "tirsdag 8. desember kl. 10:00".
 * @param {Date | string} when
 */
export function whenText(when) {
  const date = typeof when === 'string' ? new Date(when) : when;
  return t('when.at', { date: dayText(date), time: clockText(date) });
}

/**
 * When, as short as today allows: "kl. 09:45" today, else in full.
 * @param {Date | string} when
 * @param {Date} [now]
 */
export function shortWhenText(when, now = new Date()) {
  const date = typeof when === 'string' ? new Date(when) : when;
  return sameDay(date, now) ? t('when.at', { date: '', time: clockText(date) }).trim() : whenText(date);
}

/**
 * A booked slot on one line: "kl. 10:00–10:30".
 * @param {Booking} booking
 */
export function rangeText({ startsAt, minutes }) {
  const start = new Date(startsAt);
  const end = new Date(start.getTime() + minutes * 60_000);
  return t('when.range', { from: clockText(start), to: clockText(end) });
}

/**
 * @param {Date} a
 * @param {Date} b
 */
export function sameDay(a, b) {
  return a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();
}

/** @param {number} n */
const two = (n) => String(n).padStart(2, '0');

/**
 * A local date and time from `<input type=date>` and `<input type=time>` as
 * RFC 3339 with this device's offset at that moment: "2026-12-08T10:00:00+01:00".
 * Null when either is missing or not a real time.
 * @param {string} date  YYYY-MM-DD
 * @param {string} time  HH:MM
 */
export function localRfc3339(date, time) {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date) || !/^\d{2}:\d{2}(:\d{2})?$/.test(time)) return null;
  const local = new Date(`${date}T${time.slice(0, 5)}:00`);
  if (Number.isNaN(local.getTime())) return null;
  const offset = -local.getTimezoneOffset();
  const sign = offset >= 0 ? '+' : '-';
  const abs = Math.abs(offset);
  return `${date}T${time.slice(0, 5)}:00${sign}${two(Math.floor(abs / 60))}:${two(abs % 60)}`;
}

/**
 * The inputs' values for an instant, in local time.
 * @param {string} startsAt
 * @returns {{date: string, time: string}}
 */
export function localInputs(startsAt) {
  const d = new Date(startsAt);
  return { date: `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}`, time: `${two(d.getHours())}:${two(d.getMinutes())}` };
}

/**
 * Which heading a consultation goes under in the overview.
 * @param {{status: string, startsAt?: string | null}} summary
 * @param {Date} [now]
 * @returns {'today' | 'upcoming' | 'earlier' | 'others'}
 */
export function group(summary, now = new Date()) {
  if (!summary.startsAt || summary.status !== 'active') return 'others';
  const start = new Date(summary.startsAt);
  if (sameDay(start, now)) return 'today';
  return start > now ? 'upcoming' : 'earlier';
}

/**
 * The month before `now`'s, as YYYY-MM (the figures' default).
 * @param {Date} [now]
 */
export function lastMonth(now = new Date()) {
  const d = new Date(now.getFullYear(), now.getMonth() - 1, 1);
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}`;
}

/**
 * "november 2026" / "November 2026" for YYYY-MM.
 * @param {string} month
 */
export function monthText(month) {
  const [year, number] = month.split('-').map(Number);
  return new Intl.DateTimeFormat(locale(), { month: 'long', year: 'numeric' }).format(new Date(year, number - 1, 1));
}
