// A page of a campaign's HTML coverage report (llvm-cov's) inside the dashboard. Reads may need the bearer token,
// which a plain link cannot send, so each page is fetched with it and shown in a sandboxed frame: no script of the
// page runs, and it inherits the dashboard's policy (nothing loads from elsewhere). Its stylesheet, fetched with the
// token too, is applied from here, and its links are followed from here: the report's own pages open in this view,
// other sites in a new tab.
import { api } from '../api.js';
import { h } from '../dom.js';
import { exact } from '../format.js';
import { at } from './parts.js';
import { coverageRoute, encodePath, reportRoute, wrappable } from './coverage.js';

/** Pages and stylesheets fetched, by report and path: a report never changes. The newest few are kept. */
const fetched = new Map();
const KEPT = 20;

/** A base for resolving the report's relative links: a URL on this host is a page of the report. */
const ROOT = 'https://report.invalid/';

const path = (id) => `/campaigns/${encodeURIComponent(id)}`;

/** Where `href` on `page` leads: { page, hash } in the report, { external } for a web site, else null (never a script). */
function resolve(page, href) {
  let url;
  try {
    url = new URL(href, ROOT + encodePath(page));
  } catch {
    return null;
  }

  if (url.origin !== new URL(ROOT).origin) return url.protocol === 'https:' || url.protocol === 'http:' ? { external: url.href } : null;
  try {
    return { page: url.pathname.slice(1).split('/').map(decodeURIComponent).join('/'), hash: url.hash };
  } catch {
    return null;
  }
}

async function once(key, fetch) {
  if (!fetched.has(key)) {
    fetched.set(key, await fetch());
    for (const old of [...fetched.keys()].slice(0, Math.max(0, fetched.size - KEPT))) fetched.delete(old);
  }
  return fetched.get(key);
}

const text = async (id, page) => (await api(`${path(id)}/coverage/report/${encodePath(page)}`, { raw: true })).text();

/** The page without what the frame could not load or must not run (scripts, stylesheets, base, refresh), and its CSS. */
async function fetchPage(id, reportId, page) {
  const doc = new DOMParser().parseFromString(await text(id, page), 'text/html');
  const sheets = [...doc.querySelectorAll('link[rel~="stylesheet"][href]')]
    .map((link) => resolve(page, link.getAttribute('href'))?.page)
    .filter(Boolean);
  for (const element of doc.querySelectorAll('script, link, base, meta[http-equiv], iframe, frame, object, embed')) element.remove();
  const css = await Promise.all(sheets.map((sheet) => once(`${reportId} ${sheet}`, () => text(id, sheet))));
  return { srcdoc: `<!doctype html>${doc.documentElement.outerHTML}`, css: css.join('\n') };
}

export const title = (id, data) => (data ? `Coverage report: ${data.page}` : 'Coverage report');

export async function load(id, page) {
  const coverage = await api(`${path(id)}/coverage`);
  const key = `${coverage.reportId} ${page}`;
  return { coverage, page, key, shown: await once(key, () => fetchPage(id, coverage.reportId, page)) };
}

/** Once the frame shows the page: its stylesheet applied, and its links followed by the dashboard. */
function wire(frame, id, page, css) {
  const doc = frame.contentDocument;
  if (!doc) return;
  if (css) {
    // A stylesheet made from script: the dashboard's policy refuses the page's own <style> and <link>, not this.
    const sheet = new frame.contentWindow.CSSStyleSheet();
    sheet.replaceSync(css);
    doc.adoptedStyleSheets = [sheet];
  }

  doc.addEventListener('click', (event) => {
    const link = event.target.closest?.('a[href]');
    if (!link) return;
    event.preventDefault();
    const target = resolve(page, link.getAttribute('href'));
    if (!target) return;
    if (target.external) {
      window.open(target.external, '_blank', 'noopener,noreferrer');
    } else if (target.page !== page) {
      location.hash = reportRoute(id, target.page);
    } else if (target.hash) {
      const name = decodeURIComponent(target.hash.slice(1));
      (doc.getElementById(name) ?? doc.getElementsByName(name)[0])?.scrollIntoView();
    }
  });
}

export function render({ coverage, page, key, shown }, id) {
  const frame = h('iframe', {
    class: 'report-frame', title: `Coverage report: ${page}`, sandbox: 'allow-same-origin', srcdoc: shown.srcdoc, 'data-key': key, 'data-page': page,
  });
  frame.addEventListener('load', () => wire(frame, id, page, shown.css));
  return h('div', { class: 'view', 'data-view': `coverage-report-${id}` },
    h('p', { class: 'crumbs' }, h('a', { href: '#/' }, 'Overview'), ' / ',
      h('a', { href: `#/campaigns/${encodeURIComponent(id)}` }, 'campaign'), ' / ',
      h('a', { href: coverageRoute(id) }, 'coverage'), ' / report'),
    h('div', { class: 'heading' },
      h('h1', null, 'Coverage report'),
      page === 'index.html' ? null : h('a', { class: 'button', href: reportRoute(id, 'index.html') }, 'All files')),
    h('p', { class: 'help' }, `llvm-cov's report of corpus version ${coverage.corpusVersion} (${exact(coverage.inputs)} inputs), measured `,
      at(coverage.measuredAt), '. Page ', h('code', { class: 'path' }, wrappable(page)), '.'),
    frame);
}
