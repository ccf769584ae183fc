// Pieces the pages share: status badges, tables, figure tiles, times, notices, reproducibility flags, input buttons.
import { ApiError, download } from '../api.js';
import { h } from '../dom.js';
import { sortHeader } from '../filters.js';
import { ago, exact, percent, when } from '../format.js';

/** A state as a coloured label (the word itself is the meaning; colour only helps). */
export const badge = (state) => h('span', { class: `badge badge-${String(state).toLowerCase()}` }, String(state));

/**
 * A table with a caption and column headers, in a region that scrolls sideways on narrow screens (focusable, so
 * the keyboard can scroll it too). `numeric` lists the columns aligned right. With `sorting` ({ list, current,
 * columns, descendingFirst }), column i sorts the list by `columns[i]` (null: it does not), `current` being the order
 * shown (see filters.js); the columns in `descendingFirst` sort the most first on their first click.
 */
export function table(key, caption, headers, rows, numeric = [], sorting = null) {
  const header = (label, i) => {
    const column = sorting?.columns[i];
    const sortable = column ? sortHeader(sorting.list, column, label, sorting.current, sorting.descendingFirst?.includes(column)) : null;
    return h('th', { scope: 'col', class: numeric.includes(i) ? 'num' : null, 'aria-sort': sortable?.sort }, sortable ? sortable.button : label);
  };
  return h('div', { class: 'table-wrap', role: 'region', 'aria-label': caption, tabindex: 0, 'data-key': key },
    h('table', { id: `${key}-table` },
      h('caption', { class: 'visually-hidden' }, caption),
      h('thead', null, h('tr', null, headers.map(header))),
      h('tbody', null, rows)));
}

/** One figure with its label: an item of a `ul.tiles`. */
export const tile = (label, value, sub) =>
  h('li', { class: 'tile' }, h('span', { class: 'tile-label' }, label), h('span', { class: 'tile-value' }, value), sub ? h('span', { class: 'sub' }, sub) : null);

/** A moment as the local date and time. */
export const at = (iso) => h('time', { datetime: iso }, when(iso));

/** A time as "3 min ago", the exact time on hover. */
export const timeCell = (iso) => h('td', null, iso ? h('time', { datetime: iso, title: when(iso) }, ago(iso)) : '–');

/** Terms and their values. */
export const facts = (pairs) =>
  h('dl', { class: 'facts' }, pairs.filter(Boolean).map(([term, value]) => h('div', null, h('dt', null, term), h('dd', null, value))));

/** The message of the last action on a page: done (status) or refused (alert, with the API's words). */
export function notice(message) {
  if (!message) return h('div', { class: 'notice-slot' });
  return h('div', { class: 'notice-slot' },
    h('p', { class: message.error ? 'problem' : 'done', role: message.error ? 'alert' : 'status' }, message.text));
}

/**
 * Runs a button's action and keeps its outcome in `messages` under the page's `id` for `notice`: what `work` says it
 * did, or the API's refusal. A 401 is left to the sign-in form.
 */
export async function act(messages, id, work) {
  try {
    messages.set(id, { text: await work() });
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 401) messages.set(id, { error: true, text: error.message });
  }
}

/** The action of a button naming an input route and a file name (data-path, data-file): saves the input. */
export const downloadInput = (messages) => (button, id) => act(messages, id, async () => {
  await download(button.dataset.path, button.dataset.file);
  return `Downloaded ${button.dataset.file}.`;
});

/**
 * A bug's or crash's flag when reruns do not always reproduce it: "not reproducible" when none did (or none ran yet),
 * "flaky (N %)" when some did; null when every rerun did.
 */
export function reproductionFlag(item) {
  if (!item.reproducible) return h('span', { class: 'badge badge-unreproducible' }, 'not reproducible');
  if (item.reproducibleRate < 1) {
    // Never "flaky (100 %)" nor "flaky (0 %)": rounding must not hide that it is flaky.
    const shown = Math.min(99, Math.max(1, Math.round(item.reproducibleRate * 100)));
    return h('span', { class: 'badge badge-flaky' }, `flaky (${shown} %)`);
  }
  return null;
}

/** How often reruns reproduced it, for a table cell: the flag, if any, over the rate and the reruns (when known). */
export function reproduction(item) {
  const runs = item.reproduceAttempts === undefined
    ? null
    : item.reproduceAttempts === 0 ? 'no rerun yet' : `${exact(item.reproduced)} of ${exact(item.reproduceAttempts)} reruns`;
  const flag = reproductionFlag(item);
  if (!flag) return [percent(item.reproducibleRate), runs ? h('span', { class: 'sub' }, runs) : null];
  return [flag, h('span', { class: 'sub' }, [percent(item.reproducibleRate), runs].filter(Boolean).join(' · '))];
}

/** Where a bug or crash crashed: the file and line when symbolized, else the top frame of its crash state. */
export const where = (item) => item.location || item.state.split('\n').find(Boolean) || 'unknown frame';

/** A kind with its access sizes as ClusterFuzz names bugs: "Heap-buffer-overflow WRITE 2–16". */
export const kindWithSizes = (item) => (item.accessSizes ? `${item.kind} ${item.accessSizes}` : item.kind);

/**
 * Buttons saving a crash's input and, once there is one, its minimized input; `label` names what they belong to for
 * screen readers, `stem` the minimized file.
 */
export function inputButtons(crashId, inputSha256, minimized, label, stem) {
  const crashPath = `/crashes/${encodeURIComponent(crashId)}`;
  return [
    h('button', { type: 'button', class: 'small', 'data-action': 'download', 'data-path': `${crashPath}/input`, 'data-file': `crash-${inputSha256.slice(0, 12)}` },
      'Input', h('span', { class: 'visually-hidden' }, ` of ${label}`)),
    minimized?.inputSha256
      ? h('button', { type: 'button', class: 'small', 'data-action': 'download', 'data-path': `${crashPath}/input/minimized`, 'data-file': `minimized-${stem}` },
        'Minimized', h('span', { class: 'visually-hidden' }, ` input of ${label}`))
      : null,
  ];
}
