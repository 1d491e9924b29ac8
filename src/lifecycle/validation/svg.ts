/**
 * Inline SVG charts for the validation report: an ROC curve with its confidence band and a
 * reliability diagram. Plain strings, no external assets or scripts, so report.html opens
 * anywhere (an air-gapped hospital workstation included) and can be archived as one file.
 */
import type { RocBandPoint } from './bootstrap.js';
import type { ReliabilityBin } from './calibration.js';
import type { RocPoint } from './roc.js';

const SIZE = 320;
const MARGIN = 44;
const PLOT = SIZE - 2 * MARGIN;

/** Escapes text for XML/HTML content and attribute values. */
export function escapeXml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

const x = (v: number): string => (MARGIN + v * PLOT).toFixed(1);
const y = (v: number): string => (MARGIN + (1 - v) * PLOT).toFixed(1);

/** An open path through the points (a path, not a polyline: some renderers close polylines). */
function linePath(points: readonly (readonly [string, string])[]): string {
  return points.map(([px, py], i) => `${i === 0 ? 'M' : 'L'}${px} ${py}`).join(' ');
}

function frame(title: string, xLabel: string, yLabel: string, body: string): string {
  const ticks = [0, 0.25, 0.5, 0.75, 1]
    .map(
      (t) =>
        `<line x1="${x(t)}" y1="${y(0)}" x2="${x(t)}" y2="${y(1)}" stroke="#eee"/>` +
        `<line x1="${x(0)}" y1="${y(t)}" x2="${x(1)}" y2="${y(t)}" stroke="#eee"/>` +
        `<text x="${x(t)}" y="${(MARGIN + PLOT + 14).toFixed(1)}" font-size="10" text-anchor="middle">${t}</text>` +
        `<text x="${(MARGIN - 6).toFixed(1)}" y="${y(t)}" font-size="10" text-anchor="end" dominant-baseline="middle">${t}</text>`,
    )
    .join('');
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${SIZE}" height="${SIZE}" viewBox="0 0 ${SIZE} ${SIZE}" role="img" aria-label="${escapeXml(title)}">` +
    `<title>${escapeXml(title)}</title>` +
    ticks +
    `<rect x="${x(0)}" y="${y(1)}" width="${PLOT}" height="${PLOT}" fill="none" stroke="#333"/>` +
    body +
    `<text x="${SIZE / 2}" y="${SIZE - 6}" font-size="11" text-anchor="middle">${escapeXml(xLabel)}</text>` +
    `<text x="0" y="0" font-size="11" text-anchor="middle" transform="translate(12 ${SIZE / 2}) rotate(-90)">${escapeXml(yLabel)}</text>` +
    `<text x="${SIZE / 2}" y="16" font-size="12" font-weight="bold" text-anchor="middle">${escapeXml(title)}</text>` +
    `</svg>`
  );
}

/** ROC curve (1 − specificity vs sensitivity) with a shaded pointwise CI band. */
export function rocCurveSvg(
  title: string,
  curve: readonly RocPoint[],
  band: readonly RocBandPoint[],
): string {
  let bandPath = '';
  if (band.length > 0) {
    const upper = band.map((b) => `${x(1 - b.specificity)},${y(b.upper)}`);
    const lower = [...band].reverse().map((b) => `${x(1 - b.specificity)},${y(b.lower)}`);
    bandPath = `<polygon points="${[...upper, ...lower].join(' ')}" fill="#9ecae1" fill-opacity="0.5" stroke="none"><title>95% CI of sensitivity</title></polygon>`;
  }
  // Sort by false-positive rate so the step curve draws left to right.
  const points = [...curve]
    .sort((a, b) => 1 - a.specificity - (1 - b.specificity) || a.sensitivity - b.sensitivity)
    .map((p) => [x(1 - p.specificity), y(p.sensitivity)] as const);
  const chance = `<line x1="${x(0)}" y1="${y(0)}" x2="${x(1)}" y2="${y(1)}" stroke="#999" stroke-dasharray="4 3"/>`;
  const line = `<path d="${linePath(points)}" fill="none" stroke="#08519c" stroke-width="2"/>`;
  return frame(title, '1 − specificity', 'sensitivity', bandPath + chance + line);
}

/** Reliability diagram: observed frequency against mean score per bin; circle area ∝ count. */
export function reliabilityDiagramSvg(title: string, bins: readonly ReliabilityBin[]): string {
  const total = bins.reduce((s, b) => s + b.count, 0);
  const diagonal = `<line x1="${x(0)}" y1="${y(0)}" x2="${x(1)}" y2="${y(1)}" stroke="#999" stroke-dasharray="4 3"/>`;
  const filled = bins.filter((b) => b.count > 0);
  const line =
    filled.length > 1
      ? `<path d="${linePath(filled.map((b) => [x(b.meanScore!), y(b.observedFrequency!)] as const))}" fill="none" stroke="#a63603" stroke-width="1.5"/>`
      : '';
  const dots = filled
    .map((b) => {
      const radius = 2 + 8 * Math.sqrt(b.count / Math.max(total, 1));
      // The tooltip title sits in a group, not inside the circle, which more renderers accept.
      return (
        `<g><title>${b.lower.toFixed(2)}–${b.upper.toFixed(2)}: n=${b.count}, mean score ${b.meanScore!.toFixed(3)}, observed ${b.observedFrequency!.toFixed(3)}</title>` +
        `<circle cx="${x(b.meanScore!)}" cy="${y(b.observedFrequency!)}" r="${radius.toFixed(1)}" fill="#e6550d" fill-opacity="0.7"/></g>`
      );
    })
    .join('');
  return frame(title, 'mean predicted probability', 'observed frequency', diagonal + line + dots);
}
