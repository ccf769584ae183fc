// A campaign: its figures, exec/s and coverage plots, jobs and where they run, unique crashes, corpus versions,
// and the buttons to stop it and to minimize its corpus.
import { api, list } from '../api.js';
import { h } from '../dom.js';
import { lineChart } from '../charts.js';
import { count, duration, exact, percent, short, size } from '../format.js';
import { act, at, badge, downloadInput, facts, notice, table, tile, timeCell } from './parts.js';

/** The last action's outcome per campaign, shown until the next one. */
const messages = new Map();

const tasks = { fuzz: 'fuzzing', minimizeCorpus: 'corpus minimization', minimizeCrash: 'crash minimization' };

const path = (id) => `/campaigns/${encodeURIComponent(id)}`;

export const title = (id, data) => (data ? data.campaign.name : `Campaign ${id}`);

export async function load(id) {
  const [campaign, stats, corpus, bots] = await Promise.all([
    api(path(id)), api(`${path(id)}/stats`), api(`${path(id)}/corpus`), list('/bots?limit=1000'),
  ]);
  return { campaign, points: stats.points, corpus, hosts: new Map(bots.items.map((b) => [b.id, b.hostname || b.address])) };
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

function inputButtons(crash) {
  const crashPath = `/crashes/${encodeURIComponent(crash.id)}`;
  return h('td', { class: 'actions' },
    h('button', { type: 'button', class: 'small', 'data-action': 'download', 'data-path': `${crashPath}/input`, 'data-file': `crash-${crash.inputSha256.slice(0, 12)}` },
      'Input', h('span', { class: 'visually-hidden' }, ` of ${crash.kind} ${crash.signature}`)),
    crash.minimized?.inputSha256
      ? h('button', { type: 'button', class: 'small', 'data-action': 'download', 'data-path': `${crashPath}/input/minimized`, 'data-file': `minimized-${crash.signature}` },
        'Minimized', h('span', { class: 'visually-hidden' }, ` input of ${crash.kind} ${crash.signature}`))
      : null);
}

function crashRow(crash) {
  return h('tr', { 'data-key': crash.id },
    h('th', { scope: 'row' }, h('a', { href: `#/crashes/${encodeURIComponent(crash.id)}` }, crash.kind), h('span', { class: 'sub' }, crash.signature)),
    h('td', null, h('span', { class: 'state' }, crash.state.split('\n').join(' › '))),
    h('td', null, crash.security ? badge('security') : h('span', { class: 'sub' }, 'no')),
    h('td', null, crash.reproducible ? percent(crash.reproducibleRate) : badge('unreproducible')),
    h('td', { class: 'num' }, count(crash.count)),
    timeCell(crash.firstSeen),
    timeCell(crash.lastSeen),
    inputButtons(crash));
}

const versionRow = (version) => h('tr', { 'data-key': String(version.version) },
  h('th', { scope: 'row' }, `v${version.version}`),
  h('td', { class: 'num' }, count(version.count)),
  h('td', { class: 'num' }, size(version.bytes)),
  h('td', null, version.reason),
  timeCell(version.since));

export function render({ campaign, points, corpus, hosts }, id) {
  const stats = campaign.stats;
  const running = campaign.status === 'running';
  const series = (pick) => points.map((p) => ({ t: Date.parse(p.updatedAt), v: pick(p) }));
  const engines = Object.entries(campaign.targets);
  return h('div', { class: 'view', 'data-view': `campaign-${id}` },
    h('p', { class: 'crumbs' }, h('a', { href: '#/' }, 'Overview'), ' / campaign'),
    h('div', { class: 'heading' },
      h('h1', null, campaign.name, ' ', badge(campaign.status)),
      h('div', { class: 'buttons' },
        h('button', { type: 'button', 'data-action': 'minimize' }, 'Minimize corpus'),
        h('button', { type: 'button', class: 'danger', 'data-action': 'stop', 'data-name': campaign.name, disabled: !running }, 'Stop campaign'))),
    notice(messages.get(id)),
    h('ul', { class: 'tiles', 'aria-label': 'Figures' },
      tile('Executions per second', count(stats.execsPerSecond), `${count(stats.execs)} in all`),
      tile('Coverage', count(stats.coverage), stats.totalEdges ? `of ${count(stats.totalEdges)} edges` : `${count(stats.features)} features`),
      tile('Corpus', count(stats.corpusUnits), size(stats.corpusBytes)),
      tile('Unique crashes', count(campaign.crashesTotal ?? campaign.crashes.length), `${count(stats.crashes)} reports`),
      tile('Jobs', count(campaign.jobsTotal ?? campaign.jobs.length), `${campaign.jobs.filter((j) => j.state === 'running').length} running`)),
    h('div', { class: 'plots' },
      h('figure', { class: 'card' }, h('figcaption', null, 'Executions per second'),
        lineChart({ key: 'plot-execs', title: 'Executions per second over time', points: series((p) => p.execsPerSecond),
          describe: (latest, all) => `${all.length} samples; latest ${exact(latest)} executions per second.` })),
      h('figure', { class: 'card' }, h('figcaption', null, 'Coverage'),
        lineChart({ key: 'plot-coverage', title: 'Coverage over time', points: series((p) => p.coverage),
          describe: (latest, all) => `${all.length} samples; latest coverage ${exact(latest)}.` }))),
    h('section', { 'aria-labelledby': 'crashes-heading' },
      h('h2', { id: 'crashes-heading' }, 'Unique crashes'),
      campaign.crashes.length === 0
        ? h('p', { class: 'empty', id: 'no-crashes' }, running ? 'No crash found yet. New ones appear here as the fuzzers find them.' : 'No crash was found.')
        : table('crashes', 'Unique crashes, one per signature',
          ['Kind', 'Crash state', 'Security', 'Reproducible', 'Count', 'First seen', 'Last seen', 'Inputs'],
          campaign.crashes.map(crashRow), [4])),
    h('section', { 'aria-labelledby': 'jobs-heading' },
      h('h2', { id: 'jobs-heading' }, 'Jobs'),
      table('jobs', 'Jobs and the bots they run on',
        ['Job', 'State', 'Bot', 'Exec/s', 'Coverage', 'Corpus', 'Started', 'Finished'], campaign.jobs.map((job) => jobRow(job, hosts)), [3, 4, 5])),
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
          ['Duration', duration(campaign.durationSeconds)],
          ['Memory limit', `${campaign.memoryLimitMb} MB`],
          ['Timeout per input', `${campaign.timeoutMs} ms`],
          ['Dictionary', campaign.dictionary ? `${campaign.dictionary.split('\n').filter(Boolean).length} entries` : 'none'],
          ['Created', at(campaign.createdAt)],
          campaign.finishedAt ? ['Finished', at(campaign.finishedAt)] : null,
        ]))));
}
