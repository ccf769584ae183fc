// A bug: unique crashes that crashed in the same frame, at the same line, led by the first seen. Its kind, where it
// crashed, how often reruns reproduce it, its leader's inputs (the original and the minimized one) and its crashes,
// each linking to its crash page.
import { api } from '../api.js';
import { h } from '../dom.js';
import { count, exact, percent, short, size } from '../format.js';
import {
  act, at, badge, downloadInput, facts, inputButtons, kindWithSizes, notice, reproduction, reproductionFlag, table, timeCell, where,
} from './parts.js';

export const STATUSES = ['open', 'fixed', 'regressed', 'wontfix', 'duplicate'];

const messages = new Map();

const path = (id) => `/bugs/${encodeURIComponent(id)}`;

export const title = (id, data) => (data ? `${kindWithSizes(data.bug)} at ${where(data.bug)}` : `Bug ${id}`);

export async function load(id) {
  return { bug: await api(path(id)) };
}

export const actions = {
  download: downloadInput(messages),
  // The triage form's fields are sent whole: an emptied link or note is cleared.
  triage: (button, id) => act(messages, id, async () => {
    const form = button.closest('form');
    const bug = await api(path(id), {
      method: 'PATCH',
      json: { status: form.elements.status.value, externalUrl: form.elements.externalUrl.value.trim(), note: form.elements.note.value },
    });
    return `Saved: the bug is ${bug.status}.`;
  }),
};

/** The status with its builds: "fixed in build 3 (last crashed in build 2)", and each build the bug was rerun on. */
function buildRange(bug) {
  const range = bug.fixedIn ? ` in build ${bug.fixedIn}${bug.lastReproducedIn ? ` (last crashed in build ${bug.lastReproducedIn})` : ''}`
    : bug.regressedIn ? ` in build ${bug.regressedIn}${bug.lastFixedIn ? ` (last fixed in build ${bug.lastFixedIn})` : ''}` : '';
  const found = bug.foundInBuild ? ` · found in build ${bug.foundInBuild}` : '';
  const checks = (bug.checks ?? []).map((c) => `build ${c.build}: ${c.reproduces ? 'crashes' : 'does not crash'}`).join(', ');
  return [`${bug.status}${range}${found}`, checks ? h('span', { class: 'sub' }, ` · checked on ${checks}`) : null];
}

/** Status, tracker link and note; kept as typed across refreshes until the bug's triage changes. */
function triageForm(bug) {
  return h('form', { class: 'triage', 'aria-label': 'Triage', 'data-keep': true, 'data-key': `triage-${bug.statusChangedAt ?? 'never'}` },
    h('label', null, 'Status ', h('select', { name: 'status' },
      STATUSES.map((status) => h('option', { value: status, selected: bug.status === status }, status)))),
    h('label', null, 'Tracker link ', h('input', { type: 'url', name: 'externalUrl', value: bug.externalUrl ?? '', placeholder: 'https://…', autocomplete: 'off' })),
    h('label', null, 'Note ', h('textarea', { name: 'note', rows: 2 }, bug.note ?? '')),
    h('button', { type: 'button', class: 'small', 'data-action': 'triage' }, 'Save'));
}

function crashRow(crash, leaderId) {
  const label = `${crash.kind} ${crash.signature}`;
  return h('tr', { 'data-key': crash.id },
    h('th', { scope: 'row' }, h('a', { href: `#/crashes/${encodeURIComponent(crash.id)}` }, crash.kind),
      h('span', { class: 'sub' }, crash.id === leaderId ? `${crash.signature} · leader` : crash.signature)),
    h('td', null, h('span', { class: 'state' }, crash.state.split('\n').join(' › '))),
    h('td', null, crash.accessSizes ?? '–'),
    h('td', null, reproduction(crash)),
    h('td', { class: 'num', title: exact(crash.count) }, count(crash.count)),
    timeCell(crash.firstSeen),
    timeCell(crash.lastSeen),
    h('td', { class: 'actions' }, inputButtons(crash.id, crash.inputSha256, crash.minimized, label, crash.signature)));
}

/** The leader's minimized input: its size and a download button, or why there is none yet. */
function minimizedInput(bug, leader) {
  const minimization = bug.minimized;
  if (minimization?.inputSha256) {
    return h('span', null, `${size(minimization.size)} (${exact(minimization.size)} bytes) · sha256 `,
      h('code', { title: minimization.inputSha256 }, short(minimization.inputSha256, 16)), ' ',
      h('button', { type: 'button', class: 'small', 'data-action': 'download', 'data-path': `/crashes/${encodeURIComponent(bug.leaderCrashId)}/input/minimized`,
        'data-file': `minimized-${leader?.signature ?? bug.leaderCrashId}` }, 'Download', h('span', { class: 'visually-hidden' }, ' the minimized input')));
  }
  return minimization?.failure ? `Minimization failed: ${minimization.failure}` : 'Not minimized yet.';
}

export function render({ bug }, id) {
  const leader = bug.crashes.find((c) => c.id === bug.leaderCrashId) ?? null;
  const frames = bug.state.split('\n').filter(Boolean);
  return h('div', { class: 'view', 'data-view': `bug-${id}` },
    h('p', { class: 'crumbs' }, h('a', { href: '#/' }, 'Overview'), ' / ',
      h('a', { href: `#/campaigns/${encodeURIComponent(bug.campaignId)}` }, 'campaign'), ' / bug'),
    h('div', { class: 'heading' },
      h('h1', null, kindWithSizes(bug), ' ', bug.security ? badge('security') : null, reproductionFlag(bug),
        bug.status === 'open' ? null : [' ', h('span', { class: `badge badge-${bug.status}` }, bug.status)])),
    notice(messages.get(id)),
    h('p', { class: 'summary' }, bug.summary),
    h('section', { 'aria-labelledby': 'triage-heading' },
      h('h2', { id: 'triage-heading' }, 'Triage'),
      triageForm(bug),
      bug.externalUrl ? h('p', null, 'Tracked at ', h('a', { href: bug.externalUrl, rel: 'noopener noreferrer', target: '_blank' }, bug.externalUrl)) : null),
    h('section', { 'aria-labelledby': 'facts-heading' },
      h('h2', { id: 'facts-heading' }, 'Bug'),
      facts([
        ['Status', buildRange(bug)],
        ['Kind', bug.kind],
        ['Access sizes', bug.accessSizes ?? 'none named'],
        ['Where', h('code', null, where(bug))],
        ['Crash state', h('ol', { class: 'frames' }, frames.map((frame) => h('li', null, h('code', null, frame))))],
        ['Security', bug.security ? 'yes: memory safety' : 'no'],
        ['Reproduces', [reproductionFlag(bug), ' ', `${percent(bug.reproducibleRate)} (${exact(bug.reproduced)} of ${exact(bug.reproduceAttempts)} reruns)`]],
        ['Unique crashes', count(bug.crashCount)],
        ['Reports', count(bug.count)],
        ['First seen', at(bug.firstSeen)],
        ['Last seen', at(bug.lastSeen)],
        ['Found by', `${bug.jobs.length} job${bug.jobs.length === 1 ? '' : 's'}`],
        ['Leader', h('a', { href: `#/crashes/${encodeURIComponent(bug.leaderCrashId)}` }, leader ? leader.kind : 'the first crash seen',
          h('span', { class: 'visually-hidden' }, ' (the leader crash)'))],
        ['Input', leader ? inputButtons(bug.leaderCrashId, leader.inputSha256, null, 'the leader crash', leader.signature) : '–'],
        ['Minimized input', minimizedInput(bug, leader)],
        ['Id', h('code', null, bug.id)],
      ])),
    h('section', { 'aria-labelledby': 'crashes-heading' },
      h('h2', { id: 'crashes-heading' }, 'Crashes'),
      table('bug-crashes', 'The unique crashes of this bug, the leader first',
        ['Kind', 'Crash state', 'Access sizes', 'Reproducible', 'Reports', 'First seen', 'Last seen', 'Inputs'],
        bug.crashes.map((crash) => crashRow(crash, bug.leaderCrashId)), [4])));
}
