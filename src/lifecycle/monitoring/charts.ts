/**
 * Inline SVG charts for the monitoring and pilot reports, in the style of the validation
 * report (validation/svg.ts): plain strings, no scripts, no external assets, so a report is
 * one file that opens on an air-gapped workstation.
 */
import { escapeXml } from '../validation/index.js';

const WIDTH = 360;
const HEIGHT = 240;
const LEFT = 48;
const RIGHT = 12;
const TOP = 28;
const BOTTOM = 40;
const PLOT_W = WIDTH - LEFT - RIGHT;
const PLOT_H = HEIGHT - TOP - BOTTOM;

const REFERENCE_COLOUR = '#6baed6';
const WINDOW_COLOUR = '#e6550d';

function frame(title: string, body: string, xLabel: string, yLabel: string): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-label="${escapeXml(title)}">` +
    `<title>${escapeXml(title)}</title>` +
    `<rect x="${LEFT}" y="${TOP}" width="${PLOT_W}" height="${PLOT_H}" fill="none" stroke="#333"/>` +
    body +
    `<text x="${LEFT + PLOT_W / 2}" y="${HEIGHT - 6}" font-size="11" text-anchor="middle">${escapeXml(xLabel)}</text>` +
    `<text x="0" y="0" font-size="11" text-anchor="middle" transform="translate(12 ${TOP + PLOT_H / 2}) rotate(-90)">${escapeXml(yLabel)}</text>` +
    `<text x="${WIDTH / 2}" y="16" font-size="12" font-weight="bold" text-anchor="middle">${escapeXml(title)}</text>` +
    `</svg>`
  );
}

function legend(): string {
  return (
    `<rect x="${LEFT + 8}" y="${TOP + 6}" width="10" height="10" fill="${REFERENCE_COLOUR}"/><text x="${LEFT + 22}" y="${TOP + 15}" font-size="10">reference</text>` +
    `<rect x="${LEFT + 84}" y="${TOP + 6}" width="10" height="10" fill="${WINDOW_COLOUR}"/><text x="${LEFT + 98}" y="${TOP + 15}" font-size="10">window</text>`
  );
}

/** Empirical CDFs of the reference and the window on one axis: KS's D is the widest gap. */
export function ecdfSvg(
  title: string,
  reference: readonly number[],
  window: readonly number[],
): string {
  const all = [...reference, ...window];
  let lo = Math.min(...all);
  let hi = Math.max(...all);
  if (!(hi > lo)) {
    lo -= 0.5;
    hi += 0.5;
  }
  const x = (v: number): string => (LEFT + ((v - lo) / (hi - lo)) * PLOT_W).toFixed(1);
  const y = (p: number): string => (TOP + (1 - p) * PLOT_H).toFixed(1);
  const step = (values: readonly number[], colour: string): string => {
    const sorted = [...values].sort((a, b) => a - b);
    let d = `M${x(lo)} ${y(0)}`;
    sorted.forEach((v, i) => {
      d += ` L${x(v)} ${y(i / sorted.length)} L${x(v)} ${y((i + 1) / sorted.length)}`;
    });
    d += ` L${x(hi)} ${y(1)}`;
    return `<path d="${d}" fill="none" stroke="${colour}" stroke-width="1.8"/>`;
  };
  const ticks = [0, 0.5, 1]
    .map(
      (t) =>
        `<text x="${LEFT - 4}" y="${y(t)}" font-size="10" text-anchor="end" dominant-baseline="middle">${t}</text>` +
        `<text x="${x(lo + t * (hi - lo))}" y="${TOP + PLOT_H + 13}" font-size="10" text-anchor="middle">${formatTick(lo + t * (hi - lo))}</text>`,
    )
    .join('');
  return frame(
    title,
    ticks + step(reference, REFERENCE_COLOUR) + step(window, WINDOW_COLOUR) + legend(),
    'value',
    'cumulative share',
  );
}

/** Shares per category, reference beside window. */
export function categoryBarsSvg(
  title: string,
  reference: Readonly<Record<string, number>>,
  window: Readonly<Record<string, number>>,
): string {
  const categories = [...new Set([...Object.keys(reference), ...Object.keys(window)])]
    .sort()
    .slice(0, 12);
  const total = (counts: Readonly<Record<string, number>>): number =>
    Math.max(
      1,
      Object.values(counts).reduce((s, v) => s + v, 0),
    );
  const rt = total(reference);
  const wt = total(window);
  const slot = PLOT_W / Math.max(1, categories.length);
  const bar = Math.max(2, slot / 2 - 4);
  const y = (p: number): number => TOP + (1 - p) * PLOT_H;
  const body = categories
    .map((category, i) => {
      const r = (reference[category] ?? 0) / rt;
      const w = (window[category] ?? 0) / wt;
      const x0 = LEFT + i * slot + 2;
      return (
        `<g><title>${escapeXml(category)}: reference ${(r * 100).toFixed(1)}%, window ${(w * 100).toFixed(1)}%</title>` +
        `<rect x="${x0.toFixed(1)}" y="${y(r).toFixed(1)}" width="${bar.toFixed(1)}" height="${(TOP + PLOT_H - y(r)).toFixed(1)}" fill="${REFERENCE_COLOUR}"/>` +
        `<rect x="${(x0 + bar + 2).toFixed(1)}" y="${y(w).toFixed(1)}" width="${bar.toFixed(1)}" height="${(TOP + PLOT_H - y(w)).toFixed(1)}" fill="${WINDOW_COLOUR}"/></g>` +
        `<text x="${(x0 + bar).toFixed(1)}" y="${TOP + PLOT_H + 13}" font-size="9" text-anchor="middle">${escapeXml(category.length > 12 ? `${category.slice(0, 11)}…` : category)}</text>`
      );
    })
    .join('');
  const ticks = [0, 0.5, 1]
    .map(
      (t) =>
        `<text x="${LEFT - 4}" y="${y(t)}" font-size="10" text-anchor="end" dominant-baseline="middle">${t}</text>`,
    )
    .join('');
  return frame(title, ticks + body + legend(), 'category', 'share');
}

export interface SeriesPoint {
  readonly label: string;
  readonly estimate: number | null;
  readonly lower: number | null;
  readonly upper: number | null;
}

/** Estimates per period with their confidence intervals as whiskers, on [0, 1]. */
export function timeSeriesSvg(title: string, points: readonly SeriesPoint[]): string {
  const slot = PLOT_W / Math.max(1, points.length);
  const y = (p: number): string => (TOP + (1 - p) * PLOT_H).toFixed(1);
  const x = (i: number): string => (LEFT + (i + 0.5) * slot).toFixed(1);
  const shown = points.map((p, i) => ({ ...p, i })).filter((p) => p.estimate !== null);
  const line =
    shown.length > 1
      ? `<path d="${shown.map((p, k) => `${k === 0 ? 'M' : 'L'}${x(p.i)} ${y(p.estimate!)}`).join(' ')}" fill="none" stroke="#08519c" stroke-width="1.5"/>`
      : '';
  const marks = shown
    .map(
      (p) =>
        `<g><title>${escapeXml(p.label)}: ${p.estimate!.toFixed(3)}${p.lower === null ? '' : ` [${p.lower.toFixed(3)}, ${p.upper!.toFixed(3)}]`}</title>` +
        (p.lower === null
          ? ''
          : `<line x1="${x(p.i)}" x2="${x(p.i)}" y1="${y(p.lower)}" y2="${y(p.upper!)}" stroke="#6baed6" stroke-width="3"/>`) +
        `<circle cx="${x(p.i)}" cy="${y(p.estimate!)}" r="3" fill="#08519c"/></g>`,
    )
    .join('');
  const every = Math.max(1, Math.ceil(points.length / 8));
  const labels = points
    .map((p, i) =>
      i % every === 0
        ? `<text x="${x(i)}" y="${TOP + PLOT_H + 13}" font-size="9" text-anchor="middle">${escapeXml(p.label)}</text>`
        : '',
    )
    .join('');
  const ticks = [0, 0.25, 0.5, 0.75, 1]
    .map(
      (t) =>
        `<line x1="${LEFT}" x2="${LEFT + PLOT_W}" y1="${y(t)}" y2="${y(t)}" stroke="#eee"/>` +
        `<text x="${LEFT - 4}" y="${y(t)}" font-size="10" text-anchor="end" dominant-baseline="middle">${t}</text>`,
    )
    .join('');
  return frame(title, ticks + line + marks + labels, 'period', 'estimate (95% CI)');
}

function formatTick(value: number): string {
  const magnitude = Math.abs(value);
  if (magnitude >= 100) return value.toFixed(0);
  if (magnitude >= 1) return value.toFixed(2);
  return value.toFixed(3);
}
