// A bug: unique crashes that crashed in the same frame, at the same line, led by the first seen. Its kind, where it
// crashed, how often reruns reproduce it, its leader's inputs (the original and the minimized one) and its crashes,
// each linking to its crash page.
import { api } from '../api.js';
import { h } from '../dom.js';
import { count, exact, percent, short, size } from '../format.js';
import {
  at, badge, downloadInput, facts, inputButtons, kindWithSizes, notice, reproduction, reproductionFlag, table, timeCell, where,
} from './parts.js';

const messages = new Map();

const path = (id) => `/bugs/${encodeURIComponent(id)}`;

export const title = (id, data) => (data ? `${kindWithSizes(data.bug)} at ${where(data.bug)}` : `Bug ${id}`);

export async function load(id) {
  return { bug: await api(path(id)) };
}

export const actions = {
  download: downloadInput(messages),
};

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
      h('h1', null, kindWithSizes(bug), ' ', bug.security ? badge('security') : null, reproductionFlag(bug))),
    notice(messages.get(id)),
    h('p', { class: 'summary' }, bug.summary),
    h('section', { 'aria-labelledby': 'facts-heading' },
      h('h2', { id: 'facts-heading' }, 'Bug'),
      facts([
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
