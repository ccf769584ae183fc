// Plots as hand-drawn SVG. Two kinds are needed (a line over time with axes, a sparkline), a hundred lines do both,
// and SVG is text: it scales crisply, takes the page's CSS, carries a title and description for screen readers, and
// tests can count its points. A charting library (uPlot draws on canvas) would add a vendored file to keep up to date
// for less than that.
import { s } from './dom.js';
import { count, clock } from './format.js';

const WIDTH = 640;
const HEIGHT = 220;
const PAD = { top: 14, right: 16, bottom: 26, left: 58 };

/**
 * The top of the y axis and how many steps up to it: the smallest 1, 2 or 5 times a power of ten at or above `max`
 * (at least 5, for the counts plotted here), in steps that are whole numbers (5 steps of 1 or 2, 4 steps of 5).
 */
function yAxis(max) {
  const least = Math.max(max, 5);
  const power = 10 ** Math.floor(Math.log10(least));
  const top = [1, 2, 5, 10].map((step) => step * power).find((candidate) => candidate >= least);
  return { top, steps: top / power === 2 ? 4 : 5 };
}

/**
 * A line plot of `points` ({ t: epoch ms, v: number }, oldest first) with its y axis from 0, time along x. With
 * `compare` ({ label, points }), a second campaign's line is drawn dashed on the same axes, both by time since their
 * own first sample, so two runs of a target line up from their start. The <svg> says how many samples it draws in
 * data-points and how many lines in data-series.
 */
export function lineChart({ key, title, points, describe, compare = null }) {
  const titleId = `${key}-title`;
  const descId = `${key}-desc`;
  const latest = points.length ? points[points.length - 1].v : null;
  const others = compare?.points ?? [];
  const max = Math.max(0, ...points.map((p) => p.v), ...others.map((p) => p.v));
  const description = points.length ? describe(latest, points) : 'No samples yet.';
  const svg = s('svg', {
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: 'img', 'aria-labelledby': `${titleId} ${descId}`,
    class: 'plot', 'data-points': points.length, 'data-max': max, 'data-key': key, 'data-series': compare ? 2 : 1,
  },
  s('title', { id: titleId }, title),
  s('desc', { id: descId }, compare ? `${description} Dashed: ${compare.label}, ${others.length} samples, by time since each one's start.` : description));

  const innerWidth = WIDTH - PAD.left - PAD.right;
  const innerHeight = HEIGHT - PAD.top - PAD.bottom;
  const { top, steps } = yAxis(max);
  const y = (v) => PAD.top + innerHeight - (v / top) * innerHeight;
  for (let i = 0; i <= steps; i += 1) {
    const value = (top * i) / steps;
    svg.append(
      s('line', { class: 'grid', x1: PAD.left, x2: WIDTH - PAD.right, y1: y(value), y2: y(value) }),
      s('text', { class: 'tick', x: PAD.left - 8, y: y(value) + 4, 'text-anchor': 'end' }, count(value)));
  }

  if (points.length === 0 && others.length === 0) {
    svg.append(s('text', { class: 'empty', x: WIDTH / 2, y: HEIGHT / 2, 'text-anchor': 'middle' }, 'Waiting for the first samples…'));
    return svg;
  }

  // Compared: time since each series' own start; alone: the clock.
  const since = (list) => list.map((p) => ({ t: p.t - list[0].t, v: p.v }));
  const mine = compare ? since(points) : points;
  const theirs = since(others);
  const all = [...mine, ...theirs];
  const first = Math.min(...all.map((p) => p.t));
  const last = Math.max(...all.map((p) => p.t));
  const span = Math.max(last - first, 1);
  const x = (t) => (all.length === 1 ? PAD.left + innerWidth / 2 : PAD.left + ((t - first) / span) * innerWidth);
  const path = (list) => list.map((p, i) => `${i === 0 ? 'M' : 'L'}${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join(' ');
  if (mine.length > 0) {
    const line = path(mine);
    const baseline = y(0).toFixed(1);
    const end = mine[mine.length - 1];
    svg.append(
      s('path', { class: 'area', d: `${line} L${x(end.t).toFixed(1)},${baseline} L${x(mine[0].t).toFixed(1)},${baseline} Z` }),
      s('path', { class: 'line', d: line }),
      s('circle', { class: 'dot', cx: x(end.t), cy: y(end.v), r: 4 }));
  }

  if (theirs.length > 0) svg.append(s('path', { class: 'line compare', d: path(theirs) }));
  const label = (t) => (compare ? `+${Math.round(t / 60000)} min` : clock(new Date(t)));
  svg.append(
    s('text', { class: 'tick', x: PAD.left, y: HEIGHT - 6 }, label(first)),
    s('text', { class: 'tick', x: WIDTH - PAD.right, y: HEIGHT - 6, 'text-anchor': 'end' }, label(last)));
  return svg;
}

/** A small trend line of `values` (oldest first) for a table cell; `label` says what it shows. */
export function sparkline(values, label) {
  const width = 120;
  const height = 28;
  const svg = s('svg', { viewBox: `0 0 ${width} ${height}`, class: 'spark', role: 'img', 'aria-label': label, 'data-points': values.length });
  if (values.length === 0) return svg;
  const max = Math.max(...values);
  const min = Math.min(...values);
  const range = max - min || 1;
  const step = values.length > 1 ? (width - 4) / (values.length - 1) : 0;
  const coords = values.map((v, i) => `${(2 + i * step).toFixed(1)},${(height - 3 - ((v - min) / range) * (height - 6)).toFixed(1)}`);
  svg.append(values.length > 1
    ? s('polyline', { points: coords.join(' ') })
    : s('circle', { cx: width / 2, cy: height / 2, r: 2.5 }));
  return svg;
}
