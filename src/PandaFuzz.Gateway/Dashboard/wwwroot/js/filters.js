// Filters, search and sorting over a page's lists: each list's choices are kept while the dashboard is open (refreshes
// and page changes keep them) and applied to the rows the page loaded. The form is drawn once and left alone by
// refreshes (data-keep) until its choices change (a new kind of crash appears), so typing in the search box is never
// disturbed.
import { h } from './dom.js';

const chosen = new Map();
const orders = new Map();

/** The choices made for a list: { name: value }, '' meaning any. */
export const choices = (list) => chosen.get(list) ?? {};

/** Records a choice from a filter control (data-list, name, value); true when it was one. */
export function choose(control) {
  const list = control.closest('form[data-filters]')?.dataset.filters;
  if (!list || !control.name) return false;
  chosen.set(list, { ...choices(list), [control.name]: control.value });
  return true;
}

/**
 * Whether `item` passes the list's choices: each select compares `pick(name, item)` with its value, the search box
 * looks for its words (case-insensitive) in `text(item)`.
 */
export function passes(list, item, pick, text) {
  const { search = '', ...selects } = choices(list);
  for (const [name, value] of Object.entries(selects)) {
    if (value !== '' && String(pick(name, item)) !== value) return false;
  }
  const haystack = text(item).toLowerCase();
  return search.toLowerCase().split(/\s+/).filter(Boolean).every((word) => haystack.includes(word));
}

/**
 * The filter form of a list: `selects` as [name, label, [[value, text]...]] (an "any" choice first), then a search box.
 * `shown` and `total` say how many rows pass.
 */
export function filterBar(list, label, selects, shown, total) {
  const now = choices(list);
  const options = selects.map(([name, , values]) => `${name}=${values.map(([v]) => v).join(',')}`).join(';');
  return h('div', { class: 'filter-row', 'data-key': `filter-row-${list}` },
    h('form', { class: 'filters', role: 'search', 'aria-label': label, 'data-filters': list, 'data-keep': true, 'data-key': `filters-${list}-${options}` },
      selects.map(([name, text, values]) => h('label', null, `${text} `,
        h('select', { name },
          h('option', { value: '', selected: !now[name] }, 'any'),
          values.map(([value, shownAs]) => h('option', { value, selected: now[name] === value }, shownAs))))),
      h('label', null, 'Search ', h('input', { type: 'search', name: 'search', value: now.search ?? '', autocomplete: 'off', spellcheck: 'false' }))),
    h('span', { class: 'sub' }, shown === total ? `${total} shown` : `${shown} of ${total} shown`));
}

/** How a list is sorted: { by: column, descending }, `initial` until one of its column headers is clicked. */
export const order = (list, initial) => orders.get(list) ?? initial;

/** Records a click on a column's sort button (data-sort-list, data-sort, data-sort-next); true when it was one. */
export function sortBy(button) {
  const { sortList: list, sort: by, sortNext: next } = button.dataset;
  if (!list || !by) return false;
  orders.set(list, { by, descending: next === 'descending' });
  return true;
}

/**
 * What a sortable column's header holds: its aria-sort and a button that sorts the list by it, ascending first (or
 * descending first, for columns where the most matters), the other way when it is already sorted by it.
 */
export function sortHeader(list, column, label, current, descendingFirst = false) {
  const sorted = current.by === column;
  const next = sorted ? (current.descending ? 'ascending' : 'descending') : (descendingFirst ? 'descending' : 'ascending');
  return {
    sort: sorted ? (current.descending ? 'descending' : 'ascending') : 'none',
    button: h('button', { type: 'button', class: 'sort', 'data-sort-list': list, 'data-sort': column, 'data-sort-next': next },
      label, h('span', { class: 'sort-mark', 'aria-hidden': 'true' }, sorted ? (current.descending ? ' ▼' : ' ▲') : '')),
  };
}
