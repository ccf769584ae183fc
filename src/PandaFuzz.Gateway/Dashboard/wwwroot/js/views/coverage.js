// A campaign's source coverage: the latest report's line, function and region totals and what it measured (build,
// corpus version and inputs, when), line coverage over the measurements, every file of the report in a table that
// sorts and filters, the way into the report's HTML pages (report.js), and the button that measures the corpus again.
import { ApiError, api, list } from '../api.js';
import { h } from '../dom.js';
import { lineChart } from '../charts.js';
import { filterBar, order, passes } from '../filters.js';
import { exact, percentage, short, size } from '../format.js';
import { act, at, badge, facts, notice, table, tile } from './parts.js';

/** Files listed: the API's largest page; a report with more shows those with the most uncovered lines. */
const FILES = 1000;

/** The files' order until a column header is clicked: the API's, most uncovered lines first. */
const FILE_ORDER = { by: 'uncovered', descending: true };

const messages = new Map();

/** The job each campaign's last "Measure now" added: followed until the report it makes is shown. */
const asked = new Map();

/** Each campaign's report files and the job that measured them: a report never changes, so its files are read once. */
const filesRead = new Map();

const path = (id) => `/campaigns/${encodeURIComponent(id)}`;

/** A path as text that may wrap after each slash (not inside a name), for narrow screens. */
export const wrappable = (text) => text.split('/').flatMap((part, i, all) => (i < all.length - 1 ? [`${part}/`, h('wbr')] : [part]));

/** A path in the report with each segment encoded, for a URL. */
export const encodePath = (page) => page.split('/').map(encodeURIComponent).join('/');

export const coverageRoute = (id) => `#/campaigns/${encodeURIComponent(id)}/coverage`;

/** The dashboard's address of a page of the campaign's HTML report (shown by report.js). */
export const reportRoute = (id, page) => `${coverageRoute(id)}/report/${encodePath(page)}`;

/** The campaign's latest coverage report, or null while none was measured (the API's 404). */
export async function latestCoverage(id) {
  try {
    return await api(`${path(id)}/coverage`);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return null;
    throw error;
  }
}

const measured = (coverage, jobId) => Boolean(coverage) && (coverage.jobId === jobId || coverage.history.some((point) => point.jobId === jobId));

async function reportFiles(id, jobId) {
  const kept = filesRead.get(id);
  if (kept?.jobId === jobId) return kept;
  const page = await list(`${path(id)}/coverage/files?limit=${FILES}`);
  const files = { jobId, items: page.items, total: page.total };
  // A report measured between the summary and this read would put its files under the older report's job: they are
  // kept only while the report is still the one the summary named.
  if ((await latestCoverage(id))?.jobId === jobId) filesRead.set(id, files);
  return files;
}

export const title = (id, data) => (data ? `Coverage of ${data.campaign.name}` : `Coverage of campaign ${id}`);

export async function load(id) {
  const [campaign, coverage] = await Promise.all([api(path(id)), latestCoverage(id)]);
  if (measured(coverage, asked.get(id))) asked.delete(id);
  // Until the first report, the API answers 404 without the job under way: the one this page added is followed instead.
  const following = coverage?.measuringJobId ?? asked.get(id);
  const [files, job] = await Promise.all([
    coverage ? reportFiles(id, coverage.jobId) : null,
    following ? api(`/jobs/${encodeURIComponent(following)}`) : null,
  ]);
  return { campaign, coverage, files, job };
}

export const actions = {
  measure: (_, id) => act(messages, id, async () => {
    const started = await api(`${path(id)}/coverage`, { method: 'POST' });
    asked.set(id, started.jobId);
    return `Coverage measurement queued as job ${started.jobId}: a bot runs the corpus through the coverage binary of build ${started.build}.`;
  }),
};

/** A job that has not ended: the campaign measures one at a time, so the button waits for it. */
const underWay = (job) => Boolean(job) && !['completed', 'failed', 'cancelled'].includes(job.state);

function measuringLine(job) {
  if (!job) return null;
  const id = h('code', { title: job.id }, short(job.id, 16));
  if (underWay(job)) return h('p', { class: 'help', 'data-testid': 'measuring' }, 'Measuring in job ', id, ` (${job.state}): the new report shows here when the bot sends it.`);
  if (job.state === 'completed') return h('p', { class: 'help', 'data-testid': 'measuring' }, 'Job ', id, ' completed: the master is reading its report.');
  return h('p', { class: 'problem', 'data-testid': 'measuring' }, 'Measurement job ', id, ` ${job.state}: ${job.failureReason || 'no reason given'}.`);
}

/** Why there is nothing to show, and what measuring takes. */
function noReport(campaign) {
  const needs = campaign.targetName && campaign.build
    ? ['It needs build ', String(campaign.build), ' of ', campaign.targetName, ' to carry its coverage binary: ',
      h('code', null, `POST /api/v1/targets?name=${encodeURIComponent(campaign.targetName)}&kind=coverage&build=${campaign.build}`), ' uploads it.']
    : ['This campaign fuzzes a binary of no named target\'s build: only campaigns created by target name can be measured.'];
  return h('p', { class: 'empty', id: 'no-coverage' },
    'No coverage report yet. Measure now runs the campaign\'s corpus once through the coverage binary of the build it fuzzes, on a bot. ', needs);
}

/** A file as the user knows it: relative to the build's source root when it is under it, else as the build names it. */
const pathOf = (f) => f.relativePath ?? f.path;

const fileKeys = {
  path: pathOf,
  lines: (f) => f.lines.percent,
  uncovered: (f) => f.uncoveredLines,
  functions: (f) => f.functions.percent,
  regions: (f) => f.regions.percent,
};

/** Paths compare by their characters (as the API sorts them), figures by value; ties by path. */
function sortFiles(files, { by, descending }) {
  const key = fileKeys[by] ?? fileKeys.uncovered;
  const compare = (x, y) => (x < y ? -1 : x > y ? 1 : 0);
  return [...files].sort((a, b) => (descending ? -1 : 1) * compare(key(a), key(b)) || compare(a.path, b.path));
}

/** The folder every path is in ('' when none is shared), shown once above the table instead of in every row. */
function commonFolder(paths) {
  if (paths.length === 0) return '';
  let prefix = paths[0].slice(0, paths[0].lastIndexOf('/') + 1);
  for (const p of paths) {
    while (!p.startsWith(prefix)) prefix = prefix.slice(0, prefix.lastIndexOf('/', prefix.length - 2) + 1);
  }
  return prefix;
}

const share = (c) => h('td', { class: 'num' }, percentage(c.percent), h('span', { class: 'sub' }, `${exact(c.covered)} of ${exact(c.count)}`));

const fileRow = (file, folder) => h('tr', { 'data-key': file.path },
  h('th', { scope: 'row' }, h('code', { title: file.path }, wrappable(pathOf(file).slice(folder.length)))),
  share(file.lines),
  h('td', { class: 'num' }, exact(file.uncoveredLines)),
  share(file.functions),
  share(file.regions));

function filesSection(id, files) {
  const current = order('coverage-files', FILE_ORDER);
  const folder = commonFolder(files.items.map(pathOf));
  const shown = sortFiles(files.items.filter((f) => passes('coverage-files', f, () => '', pathOf)), current);
  const by = { path: 'path', lines: 'line coverage', uncovered: 'uncovered lines', functions: 'function coverage', regions: 'region coverage' }[current.by];
  return h('section', { 'aria-labelledby': 'files-heading' },
    h('h2', { id: 'files-heading' }, 'Files'),
    h('p', { class: 'help' }, folder ? ['Paths under ', h('code', { class: 'path' }, wrappable(folder)), '. '] : null,
      'A column\'s header sorts by it; ', h('a', { href: reportRoute(id, 'index.html') }, 'the HTML report'), ' shows each line.'),
    filterBar('coverage-files', 'Filter the files', [], shown.length, files.items.length),
    table('coverage-files', `Files of the report by ${by}, ${current.descending ? 'most' : 'least'} first`,
      ['File', 'Lines', 'Uncovered lines', 'Functions', 'Regions'], shown.map((file) => fileRow(file, folder)), [1, 2, 3, 4],
      { list: 'coverage-files', current, columns: ['path', 'lines', 'uncovered', 'functions', 'regions'], descendingFirst: ['uncovered'] }),
    files.total > files.items.length
      ? h('p', { class: 'help' }, `The ${exact(files.items.length)} files with the most uncovered lines, of ${exact(files.total)}.`)
      : null);
}

function report(id, campaign, coverage, files) {
  const totals = coverage.totals;
  const points = coverage.history.map((p) => ({ t: Date.parse(p.measuredAt), v: p.totals.lines.percent }));
  const figure = (label, c) => tile(label, percentage(c.percent), `${exact(c.covered)} of ${exact(c.count)} covered`);
  return [
    h('ul', { class: 'tiles', 'aria-label': 'Totals' },
      figure('Lines', totals.lines),
      figure('Functions', totals.functions),
      figure('Regions', totals.regions)),
    h('div', { class: 'columns' },
      h('section', { 'aria-labelledby': 'measured-heading' },
        h('h2', { id: 'measured-heading' }, 'Measured'),
        facts([
          ['Measured', at(coverage.measuredAt)],
          ['Corpus', `version ${coverage.corpusVersion} · ${exact(coverage.inputs)} input${coverage.inputs === 1 ? '' : 's'}`],
          ['Build', coverage.build ? `${campaign.targetName ?? 'build'} ${coverage.build}` : '–'],
          ['Files', coverage.sourceRoot ? [exact(coverage.files), ' · source root ', h('code', null, coverage.sourceRoot)] : exact(coverage.files)],
          ['Job', h('code', { title: coverage.jobId }, short(coverage.jobId, 16))],
          ['Report', [h('a', { href: reportRoute(id, 'index.html') }, 'HTML report'), ` · ${size(coverage.reportSize)} zipped`]],
        ])),
      h('section', { 'aria-labelledby': 'history-heading' },
        h('h2', { id: 'history-heading' }, 'Over time'),
        h('figure', { class: 'card' }, h('figcaption', null, 'Line coverage (%)'),
          lineChart({ key: 'plot-line-coverage', title: 'Line coverage over time', points,
            describe: (latest, all) => `${all.length} measurement${all.length === 1 ? '' : 's'}; latest ${percentage(latest)} of lines.` })))),
    filesSection(id, files),
  ];
}

export function render({ campaign, coverage, files, job }, id) {
  const busy = underWay(job);
  return h('div', { class: 'view', 'data-view': `coverage-${id}` },
    h('p', { class: 'crumbs' }, h('a', { href: '#/' }, 'Overview'), ' / ',
      h('a', { href: `#/campaigns/${encodeURIComponent(id)}` }, 'campaign'), ' / coverage'),
    h('div', { class: 'heading' },
      h('h1', null, `Coverage of ${campaign.name}`, ' ', badge(campaign.status)),
      h('div', { class: 'buttons' },
        coverage ? h('a', { class: 'button', href: reportRoute(id, 'index.html') }, 'HTML report') : null,
        h('button', { type: 'button', class: 'primary', 'data-action': 'measure', disabled: busy }, busy ? 'Measuring…' : 'Measure now'))),
    notice(messages.get(id)),
    measuringLine(job),
    coverage ? report(id, campaign, coverage, files) : noReport(campaign));
}
