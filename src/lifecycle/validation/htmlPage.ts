/**
 * The frame of the evidence reports other than validation's (localisation, robustness, OOD):
 * one self-contained HTML file, inline CSS, no scripts or external assets, and the small
 * formatters their tables share.
 */
import type { Interval } from './roc.js';
import { escapeXml } from './svg.js';

export function htmlPage(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>${escapeXml(title)}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:14px}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}
caption{text-align:left;font-weight:bold;padding:4px 0}.fail{background:#fde0dd}.pass{background:#e5f5e0}
.small{font-size:12px;color:#555}.headline{font-size:18px}
</style></head><body>
<h1>${escapeXml(title)}</h1>
${body}
</body></html>
`;
}

/** "0.123 [0.100, 0.150]"; a dash for a missing value. */
export function estimateHtml(value: { estimate: number; ci: Interval } | null | undefined): string {
  if (value === null || value === undefined) return '—';
  return `${value.estimate.toFixed(3)} [${value.ci[0].toFixed(3)}, ${value.ci[1].toFixed(3)}]`;
}

export function percentHtml(value: { estimate: number; ci: Interval } | null | undefined): string {
  if (value === null || value === undefined) return '—';
  const p = (v: number): string => `${(100 * v).toFixed(1)}%`;
  return `${p(value.estimate)} [${p(value.ci[0])}, ${p(value.ci[1])}]`;
}

export { escapeXml };
