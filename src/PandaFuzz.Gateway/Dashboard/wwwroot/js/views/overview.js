// The overview: campaigns with their live figures, bugs and a coverage trend, bots and their slots, the job queue.
import { api, list } from '../api.js';
import { h } from '../dom.js';
import { sparkline } from '../charts.js';
import { filterBar, passes } from '../filters.js';
import { ago, count, exact, short, size, when } from '../format.js';
import { badge, table, tile, timeCell } from './parts.js';

/** Campaigns shown: the newest this many (the list is oldest first; the total comes from X-Total-Count). */
const SHOWN = 50;

/** Finished campaigns do not change: their details and series are asked for once. */
const finished = new Map();
let knownTotal = 0;

const campaignStates = ['running', 'stopping', 'completed', 'stopped'];

const isFinished = (status) => status === 'completed' || status === 'stopped';

async function campaignDetails(summary) {
  const kept = finished.get(summary.id);
  if (kept) return kept;
  const [detail, stats] = await Promise.all([
    api(`/campaigns/${encodeURIComponent(summary.id)}`),
    api(`/campaigns/${encodeURIComponent(summary.id)}/stats`),
  ]);
  const details = { detail, points: stats.points };
  if (isFinished(detail.status)) finished.set(summary.id, details);
  return details;
}

export const title = () => 'Overview';

/** The newest campaigns: the last page of the list, found from the total the previous refresh saw (one call, usually). */
async function newest() {
  const tailOf = (total) => Math.max(0, total - SHOWN);
  const offset = tailOf(knownTotal);
  let page = await list(`/campaigns?limit=${SHOWN}&offset=${offset}`);
  if (tailOf(page.total) !== offset) page = await list(`/campaigns?limit=${SHOWN}&offset=${tailOf(page.total)}`);
  knownTotal = page.total;
  return page;
}

export async function load() {
  const page = await newest();
  const [details, bots, queue] = await Promise.all([
    Promise.allSettled(page.items.map(campaignDetails)),
    list('/bots?limit=1000'),
    api('/queue'),
  ]);
  const campaigns = page.items.map((summary, i) => ({
    summary,
    detail: details[i].status === 'fulfilled' ? details[i].value.detail : null,
    points: details[i].status === 'fulfilled' ? details[i].value.points : [],
  })).reverse();
  return { campaigns, total: page.total, bots: bots.items, queue };
}

function campaignRow({ summary, detail, points }) {
  const stats = detail?.stats;
  const coverage = points.map((p) => p.coverage);
  const engines = detail ? Object.keys(detail.targets).join(' + ') : summary.engine;
  return h('tr', { 'data-key': summary.id },
    h('th', { scope: 'row' }, h('a', { href: `#/campaigns/${encodeURIComponent(summary.id)}` }, summary.name),
      h('span', { class: 'sub' }, engines)),
    h('td', null, badge(detail?.status ?? summary.status)),
    h('td', { class: 'num', title: exact(stats?.execsPerSecond) }, count(stats?.execsPerSecond)),
    h('td', { class: 'num', title: exact(stats?.coverage) }, count(stats?.coverage)),
    h('td', { class: 'num' }, count(stats?.corpusUnits), h('span', { class: 'sub' }, size(stats?.corpusBytes))),
    h('td', { class: 'num' }, detail ? count(detail.bugsTotal ?? (detail.bugs ?? []).length) : '–'),
    h('td', { class: 'num' }, detail ? count(detail.crashesTotal ?? detail.crashes.length) : count(summary.crashCount)),
    h('td', null, sparkline(coverage, coverage.length
      ? `Coverage of ${summary.name} over ${coverage.length} samples: from ${exact(coverage[0])} to ${exact(coverage[coverage.length - 1])}`
      : `No coverage samples of ${summary.name} yet`)));
}

function botRow(bot) {
  const slots = bot.capabilities.slots;
  const used = bot.currentJobs.length;
  return h('tr', { 'data-key': bot.id },
    h('th', { scope: 'row' }, h('span', { title: bot.id }, bot.hostname || short(bot.id)), h('span', { class: 'sub' }, bot.address)),
    h('td', null, badge(bot.state), bot.draining ? badge('draining') : null,
      bot.offlineReason ? h('span', { class: 'sub' }, bot.offlineReason) : null),
    h('td', null, bot.capabilities.engines.map((e) => e.name).join(', ') || '–'),
    h('td', null,
      h('meter', { min: 0, max: Math.max(slots, 1), value: used, 'aria-label': `Slots in use on ${bot.hostname || bot.id}` }),
      h('span', { class: 'sub' }, `${used} of ${slots} in use`)),
    timeCell(bot.lastSeenAt));
}

function queueRow(entry, names) {
  return h('tr', { 'data-key': entry.jobId },
    h('td', { class: 'num' }, String(entry.position)),
    h('th', { scope: 'row' }, h('code', { class: 'nowrap', title: entry.jobId }, short(entry.jobId, 16))),
    h('td', null, entry.campaignId ? h('a', { href: `#/campaigns/${encodeURIComponent(entry.campaignId)}` }, names.get(entry.campaignId) ?? short(entry.campaignId, 16)) : '–'),
    h('td', null, entry.engine ?? '–'),
    timeCell(entry.waitingSince),
    h('td', null, entry.eta ? h('time', { datetime: entry.eta, title: when(entry.eta) }, ago(entry.eta)) : 'after the running jobs'));
}

export function render({ campaigns, total, bots, queue }) {
  const running = campaigns.filter((c) => (c.detail?.status ?? c.summary.status) === 'running');
  const execs = running.reduce((sum, c) => sum + (c.detail?.stats.execsPerSecond ?? 0), 0);
  const crashes = campaigns.reduce((sum, c) => sum + (c.detail?.crashesTotal ?? c.detail?.crashes.length ?? c.summary.crashCount), 0);
  // Bugs come with a campaign's details only (the list carries no bug count); a campaign whose details failed adds none.
  const bugs = campaigns.reduce((sum, c) => sum + (c.detail?.bugsTotal ?? c.detail?.bugs?.length ?? 0), 0);
  const online = bots.filter((b) => b.state === 'online');
  const slots = online.reduce((sum, b) => sum + b.capabilities.slots, 0);
  const used = online.reduce((sum, b) => sum + b.currentJobs.length, 0);
  const names = new Map(campaigns.map((c) => [c.summary.id, c.summary.name]));
  const shown = campaigns.filter((c) => passes('campaigns', c, () => c.detail?.status ?? c.summary.status,
    () => [c.summary.name, c.summary.id, c.summary.engine, ...(c.detail ? Object.keys(c.detail.targets) : [])].join(' ')));

  return h('div', { class: 'view', 'data-view': 'overview' },
    h('div', { class: 'heading' },
      h('h1', null, 'Overview'),
      h('a', { class: 'button primary', href: '#/new' }, 'New campaign')),
    h('ul', { class: 'tiles', 'aria-label': 'Totals' },
      tile('Running campaigns', count(running.length), `${count(total)} in all`),
      tile('Executions per second', count(execs), 'running campaigns'),
      tile('Bugs', count(bugs), `${count(crashes)} unique crashes · ${campaigns.length < total ? `newest ${campaigns.length} campaigns` : 'all campaigns'}`),
      tile('Bots online', `${online.length} of ${bots.length}`, `${used} of ${slots} slots in use`),
      tile('Queued jobs', count(queue.total ?? queue.pending.length), `${queue.freeSlots} free slots`)),
    h('section', { 'aria-labelledby': 'campaigns-heading' },
      h('h2', { id: 'campaigns-heading' }, 'Campaigns'),
      campaigns.length === 0
        ? h('p', { class: 'empty' }, 'No campaigns yet. ', h('a', { href: '#/new' }, 'Create the first one'), '.')
        : [
          filterBar('campaigns', 'Filter the campaigns', [['status', 'Status', campaignStates.map((state) => [state, state])]], shown.length, campaigns.length),
          table('campaigns', 'Campaigns, newest first',
            ['Campaign', 'Status', 'Exec/s', 'Coverage', 'Corpus', 'Bugs', 'Unique crashes', 'Coverage trend'],
            shown.map(campaignRow), [2, 3, 4, 5, 6]),
        ],
      total > campaigns.length ? h('p', { class: 'help' }, `The newest ${campaigns.length} of ${total} campaigns.`) : null),
    h('div', { class: 'columns' },
      h('section', { 'aria-labelledby': 'bots-heading' },
        h('h2', { id: 'bots-heading' }, 'Bots'),
        bots.length === 0
          ? h('p', { class: 'empty' }, 'No bot has joined yet.')
          : table('bots', 'Bots', ['Bot', 'State', 'Engines', 'Slots', 'Last check-in'], bots.map(botRow))),
      h('section', { 'aria-labelledby': 'queue-heading' },
        h('h2', { id: 'queue-heading' }, 'Queue'),
        queue.pending.length === 0
          ? h('p', { class: 'empty' }, 'No job is waiting for a slot.')
          : table('queue', 'Pending jobs in the order they get slots',
            ['#', 'Job', 'Campaign', 'Engine', 'Waiting', 'Starts'], queue.pending.map((entry) => queueRow(entry, names)), [0]))));
}
