// A campaign: its figures (with its line coverage once measured, linking to its coverage page), exec/s, coverage,
// corpus and bug plots (another campaign of its target drawn beside on request), its bugs (unique crashes grouped,
// each linking to its page) with every unique crash under them, jobs and where they run, corpus versions, and the
// buttons to stop it and to minimize its corpus.
import { api, list } from '../api.js';
import { h } from '../dom.js';
import { lineChart } from '../charts.js';
import { filterBar, passes } from '../filters.js';
import { STATUSES } from './bug.js';
import { count, duration, exact, percentage, short, size } from '../format.js';
import { coverageRoute, latestCoverage } from './coverage.js';
import {
  act, at, badge, downloadInput, facts, inputButtons, kindWithSizes, notice, reproduction, table, tile, timeCell, where,
} from './parts.js';

/** The last action's outcome per campaign, shown until the next one. */
const messages = new Map();

const tasks = { fuzz: 'fuzzing', minimizeCorpus: 'corpus minimization', minimizeCrash: 'crash minimization', coverage: 'coverage measurement' };

const path = (id) => `/campaigns/${encodeURIComponent(id)}`;

export const title = (id, data) => (data ? data.campaign.name : `Campaign ${id}`);

/** `vs`: another campaign of the same target, drawn dashed on the plots (#/campaigns/ID/vs/OTHER). */
export async function load(id, vs) {
  const [campaign, stats, corpus, bots] = await Promise.all([
    api(path(id)), api(`${path(id)}/stats`), api(`${path(id)}/corpus`), list('/bots?limit=1000'),
  ]);
  // A campaign that never measured its coverage has no report to ask for (the answer would be a 404 every refresh); its
  // first page of jobs shows whether it did, unless there are more.
  const maybeMeasured = campaign.jobs.some((job) => job.task === 'coverage') || (campaign.jobsTotal ?? 0) > campaign.jobs.length;
  const [peers, compare, coverage] = await Promise.all([
    campaign.targetName
      ? list(`/campaigns?target=${encodeURIComponent(campaign.targetName)}&limit=1000`).then((all) => all.items.filter((c) => c.id !== id))
      : Promise.resolve([]),
    vs
      ? Promise.all([api(path(vs)), api(`${path(vs)}/stats`)]).then(([other, otherStats]) => ({ id: vs, name: other.name, points: otherStats.points, bugs: other.bugs ?? [] }))
      : Promise.resolve(null),
    maybeMeasured ? latestCoverage(id) : Promise.resolve(null),
  ]);
  return { campaign, points: stats.points, corpus, hosts: new Map(bots.items.map((b) => [b.id, b.hostname || b.address])), peers, compare, coverage };
}

/** Bugs found so far at each bug's first sighting, and still at the last sample: a step line of the count. */
function bugsOverTime(bugs, points) {
  const times = bugs.map((bug) => Date.parse(bug.firstSeen)).sort((a, b) => a - b);
  const line = times.map((t, i) => ({ t, v: i + 1 }));
  const start = points.length ? Date.parse(points[0].updatedAt) : null;
  const end = points.length ? Date.parse(points[points.length - 1].updatedAt) : null;
  if (start !== null && (line.length === 0 || start < line[0].t)) line.unshift({ t: start, v: 0 });
  if (end !== null && line.length > 0 && end > line[line.length - 1].t) line.push({ t: end, v: line[line.length - 1].v });
  return line;
}

/** Says on the campaign's page that it was just made (the create form goes there). */
export const created = (id) => messages.set(id, { text: 'Campaign created: its jobs are queued for the bots.' });

export const actions = {
  stop: (button, id) => {
    if (!window.confirm(`Stop campaign ${button.dataset.name}? Its jobs are cancelled and their fuzzers killed.`)) return Promise.resolve();
    return act(messages, id, async () => {
      await api(`${path(id)}/stop`, { method: 'POST' });
      return 'Stopping: its jobs are being cancelled.';
    });
  },
  clone: (_, id) => act(messages, id, async () => {
    const clone = await api(`${path(id)}/clone`, { method: 'POST', json: {} });
    messages.set(clone.id, { text: `Cloned from campaign ${id}: the same settings, its corpus as seeds; the jobs are queued for the bots.` });
    window.location.hash = `#/campaigns/${encodeURIComponent(clone.id)}`;
    return `Cloned as campaign ${clone.id}.`;
  }),
  minimize: (_, id) => act(messages, id, async () => {
    const started = await api(`${path(id)}/corpus/minimize`, { method: 'POST' });
    return `Corpus minimization queued as job ${started.jobId}; its result becomes a new corpus version.`;
  }),
  download: downloadInput(messages),
};

function jobRow(job, hosts) {
  const stats = job.stats;
  return h('tr', { 'data-key': job.id },
    h('th', { scope: 'row' }, h('code', { title: job.id }, `#${job.index}`), h('span', { class: 'sub' }, `${tasks[job.task] ?? job.task} · ${job.engine}`)),
    h('td', null, badge(job.state), job.failureReason ? h('span', { class: 'sub' }, job.failureReason) : null),
    h('td', null, job.botId
      ? [hosts.get(job.botId) ?? 'unknown bot', h('code', { class: 'sub', title: job.botId }, short(job.botId, 16))]
      : 'not assigned'),
    h('td', { class: 'num', title: exact(stats?.execsPerSecond) }, count(stats?.execsPerSecond)),
    h('td', { class: 'num' }, count(stats?.coverage)),
    h('td', { class: 'num' }, count(stats?.corpusUnits)),
    timeCell(job.startedAt),
    timeCell(job.finishedAt));
}

const bugLink = (bug) => `#/bugs/${encodeURIComponent(bug.id)}`;

/** The bug's inputs are its leader's (the first crash seen): the original and, once made, the minimized one. */
function bugInputs(bug) {
  const leader = bug.crashes.find((c) => c.id === bug.leaderCrashId) ?? bug.crashes[0];
  const label = `bug ${kindWithSizes(bug)} at ${where(bug)}`;
  return h('td', { class: 'actions' },
    leader ? inputButtons(bug.leaderCrashId, leader.inputSha256, bug.minimized, label, leader.signature) : null,
    bug.minimized?.inputSha256 ? null : h('span', { class: 'sub' }, bug.minimized?.failure ? 'minimization failed' : 'not minimized yet'));
}

function bugRow(bug) {
  return h('tr', { 'data-key': bug.id },
    h('th', { scope: 'row' }, h('a', { href: bugLink(bug) }, kindWithSizes(bug))),
    h('td', null, h('code', null, where(bug)), h('span', { class: 'sub state' }, bug.state.split('\n').join(' › '))),
    h('td', null, bug.status),
    h('td', null, bug.security ? badge('security') : h('span', { class: 'sub' }, 'no')),
    h('td', null, reproduction(bug)),
    h('td', { class: 'num' }, count(bug.crashCount)),
    h('td', { class: 'num', title: exact(bug.count) }, count(bug.count)),
    timeCell(bug.firstSeen),
    timeCell(bug.lastSeen),
    bugInputs(bug));
}

function crashRow(crash, bugs) {
  const bug = crash.bugId ? bugs.get(crash.bugId) : null;
  const label = `${crash.kind} ${crash.signature}`;
  return h('tr', { 'data-key': crash.id },
    h('th', { scope: 'row' }, h('a', { href: `#/crashes/${encodeURIComponent(crash.id)}` }, crash.kind), h('span', { class: 'sub' }, crash.signature)),
    h('td', null, crash.bugId
      ? h('a', { href: bugLink({ id: crash.bugId }), title: bug ? kindWithSizes(bug) : null }, bug ? where(bug) : `bug ${short(crash.bugId.slice(crash.bugId.lastIndexOf('-') + 1), 8)}`)
      : '–'),
    h('td', null, h('span', { class: 'state' }, crash.state.split('\n').join(' › '))),
    h('td', null, crash.security ? badge('security') : h('span', { class: 'sub' }, 'no')),
    h('td', null, reproduction(crash)),
    h('td', { class: 'num' }, count(crash.count)),
    timeCell(crash.firstSeen),
    timeCell(crash.lastSeen),
    h('td', { class: 'actions' }, inputButtons(crash.id, crash.inputSha256, crash.minimized, label, crash.signature)));
}

/** A bug's or crash's value for a filter: its kind (without sizes), security, reproducibility. */
const crashField = (name, item) => ({ kind: item.kind, security: item.security ? 'yes' : 'no', reproducible: reproducibility(item), status: item.status })[name];

const reproducibility = (item) => (!item.reproducible ? 'never' : item.reproducibleRate < 1 ? 'flaky' : 'always');

/** What the search box looks in: kind, sizes, where, the crash state, signature and id. */
const crashText = (item) => [item.kind, item.accessSizes, item.location, item.state, item.signature, item.id].filter(Boolean).join(' ');

/** The filters of a bug or crash list: the kinds it holds, security, reproducibility. */
const crashFilters = (items) => [
  ['kind', 'Kind', [...new Set(items.map((item) => item.kind))].sort().map((kind) => [kind, kind])],
  ['security', 'Security', [['yes', 'security'], ['no', 'not security']]],
  ['reproducible', 'Reproduces', [['always', 'always'], ['flaky', 'flaky'], ['never', 'never']]],
];

/** The campaign's bugs, then every unique crash in a table folded away (its <details> stays open across refreshes). */
function bugsSection(campaign, running) {
  const bugs = campaign.bugs ?? [];
  const bugsTotal = campaign.bugsTotal ?? bugs.length;
  const crashesTotal = campaign.crashesTotal ?? campaign.crashes.length;
  const byId = new Map(bugs.map((bug) => [bug.id, bug]));
  const shownBugs = bugs.filter((bug) => passes('bugs', bug, crashField, crashText));
  const shownCrashes = campaign.crashes.filter((crash) => passes('crashes', crash, crashField, crashText));
  return h('section', { 'aria-labelledby': 'bugs-heading' },
    h('h2', { id: 'bugs-heading' }, 'Bugs'),
    bugs.length === 0 && campaign.crashes.length === 0
      ? h('p', { class: 'empty', id: 'no-bugs' }, running ? 'No crash found yet. New bugs appear here as the fuzzers find them.' : 'No crash was found.')
      : [
        h('p', { class: 'help' }, `${count(bugsTotal)} bug${bugsTotal === 1 ? '' : 's'} from ${count(crashesTotal)} unique crash${crashesTotal === 1 ? '' : 'es'}: `,
          'crashes that crashed in the same frame, at the same line, are one bug.'),
        filterBar('bugs', 'Filter the bugs', [['status', 'Status', STATUSES.map((s) => [s, s])], ...crashFilters(bugs)], shownBugs.length, bugs.length),
        table('bugs', 'Bugs, first seen first',
          ['Bug', 'Where', 'Status', 'Security', 'Reproducible', 'Crashes', 'Reports', 'First seen', 'Last seen', 'Inputs'],
          shownBugs.map(bugRow), [5, 6]),
        bugsTotal > bugs.length ? h('p', { class: 'help' }, `The first ${bugs.length} of ${count(bugsTotal)} bugs.`) : null,
        campaign.crashes.length === 0
          ? null
          : h('details', { class: 'crashes', 'data-key': 'all-crashes' },
            h('summary', null, `All unique crashes (${count(crashesTotal)})`),
            filterBar('crashes', 'Filter the unique crashes', crashFilters(campaign.crashes), shownCrashes.length, campaign.crashes.length),
            table('crashes', 'Unique crashes, one per signature, with their bug',
              ['Kind', 'Bug', 'Crash state', 'Security', 'Reproducible', 'Count', 'First seen', 'Last seen', 'Inputs'],
              shownCrashes.map((crash) => crashRow(crash, byId)), [5]),
            crashesTotal > campaign.crashes.length
              ? h('p', { class: 'help' }, `The first ${campaign.crashes.length} of ${count(crashesTotal)} unique crashes.`)
              : null),
      ]);
}

/** The fuzzing jobs running, and how many minimization jobs the campaign made besides them. */
function jobsTile(campaign) {
  const fuzzing = campaign.jobs.filter((j) => j.task === 'fuzz');
  const others = Math.max(0, (campaign.jobsTotal ?? campaign.jobs.length) - campaign.jobCount);
  const running = `${fuzzing.filter((j) => j.state === 'running').length} running`;
  return others > 0 ? `${running} · ${count(others)} minimization job${others === 1 ? '' : 's'}` : running;
}

const jobStates = ['pending', 'assigned', 'running', 'completed', 'failed', 'cancelled'];

/** Fuzzing jobs, then the minimization jobs (of crashes and the corpus) in a list of their own, each with a state filter. */
function jobsSection(campaign, hosts) {
  const headers = ['Job', 'State', 'Bot', 'Exec/s', 'Coverage', 'Corpus', 'Started', 'Finished'];
  const byState = (list) => (job) => passes(list, job, (_, j) => j.state, (j) => [j.id, j.engine, j.botId, hosts.get(j.botId), j.failureReason].filter(Boolean).join(' '));
  const states = [['state', 'State', jobStates.map((state) => [state, state])]];
  const fuzzing = campaign.jobs.filter((job) => job.task === 'fuzz');
  const minimizing = campaign.jobs.filter((job) => job.task !== 'fuzz');
  const shownFuzzing = fuzzing.filter(byState('jobs'));
  const shownMinimizing = minimizing.filter(byState('minimization-jobs'));
  return h('section', { 'aria-labelledby': 'jobs-heading' },
    h('h2', { id: 'jobs-heading' }, 'Fuzzing jobs'),
    filterBar('jobs', 'Filter the fuzzing jobs', states, shownFuzzing.length, fuzzing.length),
    table('jobs', 'Fuzzing jobs and the bots they run on', headers, shownFuzzing.map((job) => jobRow(job, hosts)), [3, 4, 5]),
    minimizing.length === 0
      ? null
      : h('details', { class: 'jobs', 'data-key': 'minimization-jobs' },
        h('summary', null, `Minimization jobs (${count(minimizing.length)})`),
        filterBar('minimization-jobs', 'Filter the minimization jobs', states, shownMinimizing.length, minimizing.length),
        table('minimization-jobs', 'Crash and corpus minimization jobs', headers, shownMinimizing.map((job) => jobRow(job, hosts)), [3, 4, 5])),
    (campaign.jobsTotal ?? campaign.jobs.length) > campaign.jobs.length
      ? h('p', { class: 'help' }, `The first ${campaign.jobs.length} of ${count(campaign.jobsTotal)} jobs.`)
      : null);
}

/** Links to draw another campaign of the same target on the plots (a finished one too: its series are kept). */
function comparePicker(campaign, peers, compare, id) {
  if (peers.length === 0 && !compare) return null;
  const here = `#/campaigns/${encodeURIComponent(id)}`;
  return h('nav', { class: 'compare', 'aria-label': 'Compare with another campaign' },
    h('span', null, compare ? `Dashed on the plots: ${compare.name}, by time since each one's start. ` : `Compare with another campaign of ${campaign.targetName}: `),
    compare
      ? h('a', { href: here }, 'Stop comparing')
      : peers.slice(-10).reverse().map((peer, i) => [i > 0 ? ', ' : null,
        h('a', { href: `${here}/vs/${encodeURIComponent(peer.id)}` }, `${peer.name} (${peer.status})`)]));
}

const versionRow = (version) => h('tr', { 'data-key': String(version.version) },
  h('th', { scope: 'row' }, `v${version.version}`),
  h('td', { class: 'num' }, count(version.count)),
  h('td', { class: 'num' }, size(version.bytes)),
  h('td', null, version.reason),
  timeCell(version.since));

export function render({ campaign, points, corpus, hosts, peers = [], compare = null, coverage = null }, id) {
  const stats = campaign.stats;
  const running = campaign.status === 'running';
  const series = (pick, from = points) => from.map((p) => ({ t: Date.parse(p.updatedAt), v: pick(p) }));
  const versus = (pick) => (compare ? { label: compare.name, points: series(pick, compare.points) } : null);
  const plot = (key, caption, what, pick, unit) => h('figure', { class: 'card' }, h('figcaption', null, caption),
    lineChart({ key, title: `${what} over time`, points: series(pick), compare: versus(pick),
      describe: (latest, all) => `${all.length} samples; latest ${exact(latest)}${unit}.` }));
  const engines = Object.entries(campaign.targets);
  const bugs = campaign.bugs ?? [];
  const bugsTotal = campaign.bugsTotal ?? bugs.length;
  const security = bugs.filter((bug) => bug.security).length;
  return h('div', { class: 'view', 'data-view': `campaign-${id}` },
    h('p', { class: 'crumbs' }, h('a', { href: '#/' }, 'Overview'), ' / campaign'),
    h('div', { class: 'heading' },
      h('h1', null, campaign.name, ' ', badge(campaign.status)),
      h('div', { class: 'buttons' },
        h('button', { type: 'button', 'data-action': 'minimize' }, 'Minimize corpus'),
        h('button', { type: 'button', 'data-action': 'clone' }, 'Clone'),
        h('button', { type: 'button', class: 'danger', 'data-action': 'stop', 'data-name': campaign.name, disabled: !running }, 'Stop campaign'))),
    notice(messages.get(id)),
    h('ul', { class: 'tiles', 'aria-label': 'Figures' },
      tile('Executions per second', count(stats.execsPerSecond), `${count(stats.execs)} in all`),
      tile('Coverage', count(stats.coverage), stats.totalEdges ? `of ${count(stats.totalEdges)} edges` : `${count(stats.features)} features`),
      tile('Line coverage', coverage ? percentage(coverage.totals.lines.percent) : '–',
        h('a', { href: coverageRoute(id) }, coverage ? 'Source coverage by file' : 'Not measured: measure it')),
      tile('Corpus', count(stats.corpusUnits), size(stats.corpusBytes)),
      tile('Bugs', count(bugsTotal), bugsTotal > bugs.length
        ? `${count(security)} security in the first ${bugs.length}`
        : `${count(security)} security`),
      tile('Unique crashes', count(campaign.crashesTotal ?? campaign.crashes.length), `${count(stats.crashes)} reports`),
      tile('Fuzzing jobs', count(campaign.jobCount), jobsTile(campaign))),
    comparePicker(campaign, peers, compare, id),
    h('div', { class: 'plots' },
      plot('plot-execs', 'Executions per second', 'Executions per second', (p) => p.execsPerSecond, ' executions per second'),
      plot('plot-coverage', 'Coverage', 'Coverage', (p) => p.coverage, ''),
      plot('plot-corpus', 'Corpus', 'Corpus inputs', (p) => p.corpusUnits, ' inputs'),
      h('figure', { class: 'card' }, h('figcaption', null, 'Bugs'),
        lineChart({ key: 'plot-bugs', title: 'Bugs found over time', points: bugsOverTime(bugs, points),
          compare: compare ? { label: compare.name, points: bugsOverTime(compare.bugs, compare.points) } : null,
          describe: (latest, all) => `${all.length} points; ${exact(latest)} bugs found so far.` }))),
    bugsSection(campaign, running),
    jobsSection(campaign, hosts),
    h('div', { class: 'columns' },
      h('section', { 'aria-labelledby': 'corpus-heading' },
        h('h2', { id: 'corpus-heading' }, 'Corpus versions'),
        corpus.versions.length === 0
          ? h('p', { class: 'empty' }, 'The corpus is empty so far.')
          : table('corpus', 'Corpus versions, newest first', ['Version', 'Inputs', 'Size', 'Reason', 'Since'],
            [...corpus.versions].reverse().map(versionRow), [1, 2])),
      h('section', { 'aria-labelledby': 'settings-heading' },
        h('h2', { id: 'settings-heading' }, 'Settings'),
        facts([
          ['Id', h('code', null, campaign.id)],
          ...engines.map(([engine, target]) => [`${engine} build`, h('code', { title: target }, short(target, 16))]),
          ['Jobs', String(campaign.jobCount)],
          ['Priority', String(campaign.priority ?? 1)],
          ['Duration', duration(campaign.durationSeconds)],
          ['Memory limit', `${campaign.memoryLimitMb} MB`],
          ['Timeout per input', `${campaign.timeoutMs} ms`],
          ['Dictionary', campaign.dictionary ? `${campaign.dictionary.split('\n').filter(Boolean).length} entries` : 'none'],
          ['Created', at(campaign.createdAt)],
          campaign.finishedAt ? ['Finished', at(campaign.finishedAt)] : null,
        ]))));
}
