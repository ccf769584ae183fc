// Numbers, sizes and times as people read them; exact values go in title attributes.

const compact = new Intl.NumberFormat('en', { notation: 'compact', maximumFractionDigits: 1 });
const whole = new Intl.NumberFormat('en');

export const count = (n) => (n === null || n === undefined ? '–' : Math.abs(n) < 10_000 ? whole.format(n) : compact.format(n));

export const exact = (n) => (n === null || n === undefined ? '' : whole.format(n));

export function size(bytes) {
  if (bytes === null || bytes === undefined) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

export const percent = (rate) => `${Math.round(rate * 100)} %`;

const hundredths = new Intl.NumberFormat('en', { maximumFractionDigits: 2 });

/** A percentage the API gives from 0 to 100 with two decimals (source coverage), as it gives it: "76.09 %". */
export const percentage = (value) => (value === null || value === undefined ? '–' : `${hundredths.format(value)} %`);

/** Times the API sends as a default value (0001-01-01) rather than a real moment; shown as unknown. */
const known = (iso) => Boolean(iso) && Date.parse(iso) > 0;

/** "12 s ago", "in 3 min": relative to now. */
export function ago(iso) {
  if (!known(iso)) return '–';
  const seconds = Math.round((Date.parse(iso) - Date.now()) / 1000);
  const abs = Math.abs(seconds);
  const [value, unit] = abs < 60 ? [abs, 's'] : abs < 3600 ? [Math.round(abs / 60), 'min'] : abs < 86400 ? [Math.round(abs / 3600), 'h'] : [Math.round(abs / 86400), 'd'];
  if (abs < 2) return 'now';
  return seconds < 0 ? `${value} ${unit} ago` : `in ${value} ${unit}`;
}

/** The local date and time, for title attributes and <time> elements. */
export const when = (iso) => (known(iso) ? new Date(iso).toLocaleString() : '–');

export function duration(seconds) {
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(seconds % 3600 === 0 ? 0 : 1)} h`;
}

/** The first characters of a long id (a sha256, a job id), enough to tell them apart on screen. */
export const short = (id, length = 12) => (id && id.length > length ? `${id.slice(0, length)}…` : id ?? '–');

export const clock = (date) => date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
