// A unique crash: the report with its stack, the signature, the bug it is part of, its access sizes, how often it
// reproduces, and its inputs with a hex preview of their first bytes.
import { api, bytes } from '../api.js';
import { h } from '../dom.js';
import { count, exact, percent, short, size } from '../format.js';
import { at, badge, downloadInput, facts, notice, reproductionFlag } from './parts.js';

/** Bytes shown of each input. */
const PREVIEW = 256;

/** Input previews by sha256: inputs never change, so each is fetched once. */
const previews = new Map();
const messages = new Map();

const path = (id) => `/crashes/${encodeURIComponent(id)}`;
const bugLink = (bugId) => `#/bugs/${encodeURIComponent(bugId)}`;

async function preview(sha256, route) {
  if (!previews.has(sha256)) {
    const all = await bytes(route);
    previews.set(sha256, all.slice(0, PREVIEW));
  }
  return previews.get(sha256);
}

export const title = (id, data) => (data ? `${data.crash.kind} in ${data.crash.state.split('\n')[0] || 'the target'}` : `Crash ${id}`);

export async function load(id) {
  const crash = await api(path(id));
  const minimized = crash.minimized?.inputSha256;
  const [input, minimizedInput] = await Promise.all([
    preview(crash.inputSha256, `${path(id)}/input`),
    minimized ? preview(minimized, `${path(id)}/input/minimized`) : null,
  ]);
  return { crash, input, minimizedInput };
}

export const actions = {
  download: downloadInput(messages),
};

/** Offset, hex and printable characters, 16 bytes a line, as xxd shows them. */
function hexDump(data) {
  const lines = [];
  for (let offset = 0; offset < data.length; offset += 16) {
    const row = [...data.slice(offset, offset + 16)];
    const hex = row.map((b) => b.toString(16).padStart(2, '0')).join(' ').padEnd(47, ' ');
    const text = row.map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
    lines.push(`${offset.toString(16).padStart(8, '0')}  ${hex}  ${text}`);
  }
  return lines.join('\n');
}

function inputCard(label, key, sha256, totalSize, data, route, fileName) {
  return h('section', { class: 'card input', 'aria-labelledby': `${key}-heading` },
    h('div', { class: 'heading' },
      h('h3', { id: `${key}-heading` }, label),
      h('button', { type: 'button', class: 'small', 'data-action': 'download', 'data-path': route, 'data-file': fileName }, 'Download',
        h('span', { class: 'visually-hidden' }, ` ${label.toLowerCase()}`))),
    h('p', { class: 'sub' }, `${size(totalSize)} (${exact(totalSize)} bytes) · sha256 `, h('code', { title: sha256 }, short(sha256, 16))),
    h('pre', { class: 'hex', tabindex: 0, 'aria-label': `${label}: the first ${Math.min(totalSize, PREVIEW)} bytes in hex`, 'data-testid': `${key}-hex` },
      data.length ? hexDump(data) : '(empty)'),
    totalSize > PREVIEW ? h('p', { class: 'help' }, `The first ${PREVIEW} of ${exact(totalSize)} bytes.`) : null);
}

/**
 * The stack with each run of frames that never hold the bug (sanitizer runtime, libc, allocators, the fuzzer's driver:
 * the API's ignoredFrames) folded into one line that opens to show them.
 */
function stackList(stack, ignored) {
  const items = [];
  for (let i = 0; i < stack.length;) {
    if (!ignored.has(i)) {
      items.push(h('li', { 'data-key': String(i) }, h('code', null, stack[i])));
      i += 1;
      continue;
    }
    const from = i;
    while (i < stack.length && ignored.has(i)) i += 1;
    const frames = stack.slice(from, i);
    items.push(h('li', { 'data-key': `fold-${from}`, class: 'folded' },
      h('details', { 'data-key': `fold-${from}` },
        h('summary', null, `${frames.length} runtime frame${frames.length === 1 ? '' : 's'} (sanitizer, libc, fuzzer)`),
        h('ul', { class: 'stack' }, frames.map((frame, k) => h('li', { 'data-key': String(from + k) }, h('code', null, frame)))))));
  }
  return h('ul', { class: 'stack', 'data-testid': 'stack' }, items);
}

export function render({ crash, input, minimizedInput }, id) {
  const crashPath = path(id);
  const minimization = crash.minimized;
  return h('div', { class: 'view', 'data-view': `crash-${id}` },
    h('p', { class: 'crumbs' }, h('a', { href: '#/' }, 'Overview'), ' / ',
      h('a', { href: `#/campaigns/${encodeURIComponent(crash.campaignId)}` }, 'campaign'), ' / ',
      crash.bugId ? [h('a', { href: bugLink(crash.bugId) }, 'bug'), ' / '] : null, 'crash'),
    h('div', { class: 'heading' },
      h('h1', null, crash.kind, ' ', crash.security ? badge('security') : null, reproductionFlag(crash))),
    notice(messages.get(id)),
    h('p', { class: 'summary' }, crash.summary),
    h('div', { class: 'columns' },
      h('section', { 'aria-labelledby': 'facts-heading' },
        h('h2', { id: 'facts-heading' }, 'Signature'),
        facts([
          ['Bug', crash.bugId
            ? h('a', { href: bugLink(crash.bugId), 'data-testid': 'bug-link' }, h('code', null, crash.bugId))
            : 'not grouped yet'],
          ['Signature', h('code', null, crash.signature)],
          ['Access sizes', crash.accessSizes ?? 'none named'],
          crash.location ? ['Where', h('code', null, crash.location)] : null,
          ['Crash state', h('ol', { class: 'frames' }, crash.state.split('\n').filter(Boolean).map((frame) => h('li', null, h('code', null, frame))))],
          ['Security', crash.security ? 'yes: memory safety' : 'no'],
          ['Reproduces', `${percent(crash.reproducibleRate)} (${exact(crash.reproduced)} of ${exact(crash.reproduceAttempts)} runs)`],
          ['Reports', count(crash.count)],
          ['First seen', at(crash.firstSeen)],
          ['Last seen', at(crash.lastSeen)],
          ['Found by', h('span', null, `${crash.jobs.length} job${crash.jobs.length === 1 ? '' : 's'} on ${crash.bots.length} bot${crash.bots.length === 1 ? '' : 's'}; first `, h('code', { title: crash.jobId }, short(crash.jobId, 16)))],
          ['Artifact', h('code', null, crash.artifactName)],
        ])),
      h('section', { 'aria-labelledby': 'stack-heading' },
        h('h2', { id: 'stack-heading' }, 'Stack'),
        crash.stack.length === 0
          ? h('p', { class: 'empty' }, 'The report has no stack.')
          : stackList(crash.stack, new Set(crash.ignoredFrames ?? [])))),
    h('section', { 'aria-labelledby': 'inputs-heading' },
      h('h2', { id: 'inputs-heading' }, 'Inputs'),
      h('div', { class: 'inputs' },
        inputCard('Original input', 'original', crash.inputSha256, crash.inputSize, input, `${crashPath}/input`, crash.artifactName),
        minimization?.inputSha256
          ? inputCard('Minimized input', 'minimized', minimization.inputSha256, minimization.size, minimizedInput, `${crashPath}/input/minimized`, `minimized-${crash.signature}`)
          : h('section', { class: 'card input', 'aria-labelledby': 'minimized-heading' },
            h('h3', { id: 'minimized-heading' }, 'Minimized input'),
            h('p', null, minimization?.failure ? `Minimization failed: ${minimization.failure}` : 'Minimization is under way on a bot.')))),
    h('section', { 'aria-labelledby': 'report-heading' },
      h('h2', { id: 'report-heading' }, 'Report'),
      h('pre', { class: 'report', tabindex: 0, 'aria-label': 'The sanitizer report' }, crash.output || '(no output kept)')));
}
