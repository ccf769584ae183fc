// The dashboard's shell: hash routes, the refresh loop (polling the API every few seconds while the tab is visible,
// patching the page in place), the token sign-in and button actions.
import { ApiError, onUnauthorized, token } from './api.js';
import { h, morph } from './dom.js';
import { choose, sortBy } from './filters.js';
import { clock } from './format.js';
import * as overview from './views/overview.js';
import * as campaign from './views/campaign.js';
import * as coverage from './views/coverage.js';
import * as report from './views/report.js';
import * as bug from './views/bug.js';
import * as crash from './views/crash.js';
import * as create from './views/create.js';
import { signIn } from './views/signin.js';

/** How often a shown page asks the API again. EventSource cannot send the bearer token, so the dashboard polls. */
const REFRESH_MS = 3000;

const routes = [
  [/^#?\/?$/, overview, 'overview'],
  [/^#\/campaigns\/([^/]+)(?:\/vs\/([^/]+))?$/, campaign, 'overview'],
  [/^#\/campaigns\/([^/]+)\/coverage$/, coverage, 'overview'],
  [/^#\/campaigns\/([^/]+)\/coverage\/report\/(.+)$/, report, 'overview'],
  [/^#\/bugs\/([^/]+)$/, bug, 'overview'],
  [/^#\/crashes\/([^/]+)$/, crash, 'overview'],
  [/^#\/new$/, create, 'new'],
];

const main = document.getElementById('main');
const live = document.getElementById('live');
const session = document.getElementById('session');

let generation = 0;
let timer = null;
let current = null;
let refused = null;
/** What the shown page last loaded: a filter redraws from it at once, without asking the API. */
let loaded = null;

function route() {
  for (const [pattern, view, nav] of routes) {
    const match = pattern.exec(location.hash);
    if (match) return { view, nav, id: match[1] ? decodeURIComponent(match[1]) : null, extra: match[2] ? decodeURIComponent(match[2]) : null };
  }
  return null;
}

function setLive(state, text) {
  live.dataset.state = state;
  live.textContent = text;
}

function showSessionControls() {
  session.textContent = token.get() ? 'Sign out' : 'Sign in';
}

function askForToken(error) {
  refused = error ?? true;
  clearTimeout(timer);
  generation += 1;
  setLive(error ? 'error' : 'idle', error ? 'Signed out' : 'Sign in');
  showSessionControls();
  for (const link of document.querySelectorAll('[data-nav]')) link.removeAttribute('aria-current');
  document.title = 'Sign in · PandaFuzz';
  main.replaceChildren(signIn(error, (value) => {
    token.set(value);
    show(true);
  }));
  main.querySelector('input')?.focus();
}

/** Shows the page the address names; `fresh` when the address changed (focus moves to the new page). */
async function show(fresh) {
  clearTimeout(timer);
  generation += 1;
  refused = null;
  showSessionControls();
  current = route();
  for (const link of document.querySelectorAll('[data-nav]')) {
    if (current && link.dataset.nav === current.nav) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }

  if (!current) {
    main.replaceChildren(h('section', { class: 'view' }, h('h1', null, 'Not found'), h('p', null, 'No page here. ', h('a', { href: '#/' }, 'Back to the overview'), '.')));
    return;
  }

  if (current.view.once) {
    document.title = `${current.view.title(current.id)} · PandaFuzz`;
    main.replaceChildren(current.view.render(current.id));
    setLive('idle', 'Form');
  } else {
    await refresh(generation, fresh);
  }
  if (fresh) main.focus({ preventScroll: true });
}

async function refresh(mine, fresh) {
  const { view, id, extra } = current;
  try {
    const data = await view.load(id, extra);
    if (mine !== generation) return;
    loaded = { view, id, data };
    document.title = `${view.title(id, data)} · PandaFuzz`;
    const next = view.render(data, id);
    const shown = main.firstElementChild;
    if (!fresh && shown && shown.dataset.view === next.dataset.view) morph(shown, next);
    else main.replaceChildren(next);
    setLive('ok', `Live · updated ${clock(new Date())}`);
  } catch (error) {
    if (mine !== generation) return;
    if (error instanceof ApiError && error.status === 401) return;
    if (error instanceof ApiError && error.status === 404) {
      main.replaceChildren(h('section', { class: 'view', 'data-view': 'missing' },
        h('h1', null, error.problem.title || 'Not found'),
        h('p', { role: 'alert' }, error.message),
        h('p', null, h('a', { href: '#/' }, 'Back to the overview'))));
      setLive('ok', `Live · updated ${clock(new Date())}`);
      return;
    }
    setLive('error', `Offline · retrying (${error.message})`);
  }
  schedule(mine);
}

function schedule(mine) {
  clearTimeout(timer);
  if (document.hidden || mine !== generation || refused) return;
  timer = setTimeout(() => refresh(mine, false), REFRESH_MS);
}

// A 401 from any call: stop refreshing and ask for a token, with the API's own words.
onUnauthorized((error) => {
  if (!refused) askForToken(error);
});

document.addEventListener('visibilitychange', () => {
  if (document.hidden) {
    clearTimeout(timer);
    setLive('idle', 'Paused while hidden');
  } else if (current && !current.view.once && !refused) {
    refresh(generation, false);
  }
});

/** Draws the shown page again from what it loaded, without asking the API: a filter or a list's order changed. */
function redraw() {
  if (!loaded || loaded.view !== current?.view || loaded.id !== current.id) return;
  const shown = main.firstElementChild;
  const next = loaded.view.render(loaded.data, loaded.id);
  if (shown && shown.dataset.view === next.dataset.view) morph(shown, next);
}

// A column header's sort button orders its list at once (filters.js keeps the order); the button keeps the focus.
// Buttons that name an action (data-action) have the page's view module carry it out, then the page refreshes at once.
main.addEventListener('click', async (event) => {
  const sorter = event.target.closest('button[data-sort]');
  if (sorter) {
    if (sortBy(sorter)) redraw();
    return;
  }

  const button = event.target.closest('button[data-action]');
  if (!button || !current?.view.actions?.[button.dataset.action]) return;
  button.disabled = true;
  try {
    await current.view.actions[button.dataset.action](button, current.id);
  } finally {
    button.disabled = false;
  }
  if (!refused && !current.view.once) refresh(generation, false);
});

// A filter or search box changed: the page is drawn again from what it loaded (filters.js keeps the choice).
function filtered(event) {
  if (choose(event.target)) redraw();
}
main.addEventListener('input', filtered);
main.addEventListener('change', filtered);
main.addEventListener('submit', (event) => {
  if (event.target.matches('form[data-filters]')) event.preventDefault();
});

session.addEventListener('click', () => {
  if (token.get()) {
    token.clear();
    show(true);
  } else {
    askForToken(null);
  }
});

window.addEventListener('hashchange', () => show(true));
create.onCreated((id) => {
  campaign.created(id);
  location.hash = `#/campaigns/${encodeURIComponent(id)}`;
});
show(false);
