import { RadiolensError } from '../../foundation/core/index.js';
import { drawText, GLYPH_ADVANCE, GLYPH_HEIGHT } from './bitmapFont.js';
import { VIRIDIS_RGB } from './colormap.js';
import type { DisplayImage, FindingResult, Heatmap } from './types.js';

/**
 * Composes the Secondary Capture picture: a banner that says this is AI output, the source
 * image with the heatmap blended in viridis, and a panel with the colour bar legend and one
 * line per finding. Banner and panel are added above and below the image rather than drawn
 * over it, so no source pixel is hidden from the reviewer.
 */
export const DEFAULT_BANNER = 'AI OUTPUT - FOR REVIEW BY A RADIOLOGIST - NOT FOR DIAGNOSIS';
export const DEFAULT_LEGEND = 'GRAD-CAM RELATIVE CONTRIBUTION 0 -> MAX';

/** Heat below this fraction of the maximum is not tinted, so the grey image stays readable. */
const MIN_VISIBLE_HEAT = 0.05;
/** Opacity of the colour at the heatmap's maximum. */
const MAX_ALPHA = 0.6;

const BANNER_BACKGROUND: readonly [number, number, number] = [150, 0, 0];
const PANEL_BACKGROUND: readonly [number, number, number] = [0, 0, 0];
const TEXT_COLOUR: readonly [number, number, number] = [255, 255, 255];

export interface OverlayInput {
  display: DisplayImage;
  heatmap: Heatmap;
  findings: readonly FindingResult[];
  banner?: string;
  legend?: string;
  /**
   * Render on the source image's own grid (ADR 0142): the picture is `columns` × `rows`, the
   * blended image upscaled to it (nearest neighbour), and banner, legend and finding labels
   * are drawn in one band across the top of the image instead of around it. Absent: the
   * original layout, banner above and panel below the display image.
   */
  sourceGrid?: { rows: number; columns: number };
}

export interface Rect {
  y0: number;
  y1: number;
}

export interface OverlayRgb {
  width: number;
  height: number;
  /** Interleaved R,G,B per pixel, row-major (Planar Configuration 0). */
  rgb: Uint8Array;
  /** Rows occupied by each part, for tests and for anyone cropping. */
  layout: { banner: Rect; image: Rect; panel: Rect };
}

export function renderOverlayRgb(input: OverlayInput): OverlayRgb {
  const plan = planOverlayRgb(input);
  const rgb = new Uint8Array(plan.width * plan.height * 3);
  plan.renderInto(rgb);
  return { width: plan.width, height: plan.height, rgb, layout: plan.layout };
}

/** The overlay's size and layout, and how to draw it into bytes someone else owns. */
export interface OverlayPlan {
  width: number;
  height: number;
  layout: OverlayRgb['layout'];
  /**
   * Draw the picture into `rgb` (at least width × height × 3 bytes; every one of them is
   * written): the Secondary Capture draws straight into its Part 10 file's Pixel Data.
   */
  renderInto(rgb: Uint8Array): void;
}

export function planOverlayRgb(input: OverlayInput): OverlayPlan {
  const { display, heatmap, sourceGrid } = input;
  validate(display, heatmap);
  const width = sourceGrid?.columns ?? display.width;
  // Text scale follows image size so labels stay readable on a 2k×2k radiograph; on the
  // source grid a little smaller, because the band covers image pixels.
  const scale = Math.max(1, Math.round(width / (sourceGrid ? 500 : 300)));
  const pad = 2 * scale;
  const lineHeight = (GLYPH_HEIGHT + 3) * scale;
  const maxChars = Math.max(1, Math.floor((width - 2 * pad) / (GLYPH_ADVANCE * scale)));

  const bannerLines = wrap(input.banner ?? DEFAULT_BANNER, maxChars);
  const legendLines = wrap(input.legend ?? DEFAULT_LEGEND, maxChars);
  const findingLines = input.findings.flatMap((f) => wrap(findingLabel(f), maxChars));
  const barHeight = 4 * scale;

  const bannerHeight = bannerLines.length * lineHeight + 2 * pad;
  const panelHeight =
    pad +
    legendLines.length * lineHeight +
    barHeight +
    lineHeight +
    findingLines.length * lineHeight +
    pad;
  const imageHeight = sourceGrid?.rows ?? display.height;
  const height = sourceGrid ? imageHeight : bannerHeight + display.height + panelHeight;
  const layout = sourceGrid
    ? {
        banner: { y0: 0, y1: Math.min(height, bannerHeight) },
        image: { y0: 0, y1: height },
        panel: {
          y0: Math.min(height, bannerHeight),
          y1: Math.min(height, bannerHeight + panelHeight),
        },
      }
    : {
        banner: { y0: 0, y1: bannerHeight },
        image: { y0: bannerHeight, y1: bannerHeight + display.height },
        panel: { y0: bannerHeight + display.height, y1: height },
      };
  const renderInto = (rgb: Uint8Array): void => {
    const fill = (y0: number, y1: number, colour: readonly number[]): void => {
      for (let i = y0 * width * 3; i < y1 * width * 3; i += 3) {
        rgb[i] = colour[0]!;
        rgb[i + 1] = colour[1]!;
        rgb[i + 2] = colour[2]!;
      }
    };
    const plot = (x: number, y: number): void => {
      if (x < 0 || x >= width || y < 0 || y >= height) return;
      const i = (y * width + x) * 3;
      rgb[i] = TEXT_COLOUR[0];
      rgb[i + 1] = TEXT_COLOUR[1];
      rgb[i + 2] = TEXT_COLOUR[2];
    };
    const writeLines = (lines: string[], y: number): number => {
      for (const line of lines) {
        drawText(line, pad, y + scale, scale, plot);
        y += lineHeight;
      }
      return y;
    };

    // On the source grid the band across the top (banner, then legend and labels) is filled
    // over whole rows afterwards: the image is blended only below it.
    const firstRow = sourceGrid ? layout.panel.y1 : 0;
    if (
      sourceGrid &&
      (sourceGrid.columns !== display.width || sourceGrid.rows !== display.height)
    ) {
      blendUpscaled(display, heatmap, rgb, width, height, firstRow);
    } else {
      blendImage(display, heatmap, rgb, width, layout.image.y0, firstRow);
    }
    fill(layout.banner.y0, layout.banner.y1, BANNER_BACKGROUND);
    writeLines(bannerLines, pad);
    fill(layout.panel.y0, layout.panel.y1, PANEL_BACKGROUND);

    let y = writeLines(legendLines, layout.panel.y0 + pad);
    const barX0 = pad;
    const barX1 = width - pad;
    for (let x = barX0; x < barX1; x++) {
      const level = Math.round(((x - barX0) / Math.max(1, barX1 - barX0 - 1)) * 255);
      for (let dy = 0; dy < barHeight; dy++) {
        const i = ((y + dy) * width + x) * 3;
        rgb[i] = VIRIDIS_RGB[3 * level]!;
        rgb[i + 1] = VIRIDIS_RGB[3 * level + 1]!;
        rgb[i + 2] = VIRIDIS_RGB[3 * level + 2]!;
      }
    }
    y += barHeight;
    // End labels under the bar: "0" at the left, "MAX" at the right.
    drawText('0', barX0, y + scale, scale, plot);
    drawText('MAX', barX1 - (3 * GLYPH_ADVANCE - 1) * scale, y + scale, scale, plot);
    y += lineHeight;
    writeLines(findingLines, y);
  };
  return { width, height, layout, renderInto };
}

/**
 * The blended display image, nearest-neighbour resampled onto a larger (or smaller) grid,
 * one display row at a time: each display row is blended once into a row buffer and spread
 * over the output columns; an output row that repeats the one above is copied. The same bytes
 * as blending the whole display image and resampling it, without the intermediate picture.
 */
function blendUpscaled(
  display: DisplayImage,
  heatmap: Heatmap,
  to: Uint8Array,
  toWidth: number,
  toHeight: number,
  /** Rows above this one are painted over afterwards: not blended. */
  firstRow: number,
): void {
  const fromWidth = display.width;
  const fromHeight = display.height;
  const columns = new Int32Array(toWidth);
  for (let x = 0; x < toWidth; x++) {
    columns[x] = Math.min(fromWidth - 1, Math.floor(((x + 0.5) * fromWidth) / toWidth)) * 3;
  }
  const blendRow = rowBlender(display, heatmap);
  const from = new Uint8Array(fromWidth * 3);
  const fromBytes = fromWidth * 3;
  const rowBytes = toWidth * 3;
  // For an exact doubling, column x = ⌊(x + 0.5) / 2⌋ = ⌊x / 2⌋: no table needed.
  const factor = toWidth === 2 * fromWidth ? 2 : 0;
  let previous = -1;
  for (let y = firstRow; y < toHeight; y++) {
    const row = Math.min(fromHeight - 1, Math.floor(((y + 0.5) * fromHeight) / toHeight));
    if (row === previous) {
      // Upscaling repeats rows: copy the one just written instead of resampling it again.
      to.copyWithin(y * rowBytes, (y - 1) * rowBytes, y * rowBytes);
      continue;
    }
    previous = row;
    blendRow(row, from, 0);
    let at = y * rowBytes;
    if (factor === 2) {
      // The 1024 → 2048 overlay of a 2048² radiograph: each blended pixel twice, in order
      // (nearest-neighbour column x is display pixel ⌊x / 2⌋, the table's value).
      for (let i = 0; i < fromBytes; i += 3, at += 6) {
        const r = from[i]!;
        const g = from[i + 1]!;
        const b = from[i + 2]!;
        to[at] = r;
        to[at + 1] = g;
        to[at + 2] = b;
        to[at + 3] = r;
        to[at + 4] = g;
        to[at + 5] = b;
      }
      continue;
    }
    for (let x = 0; x < toWidth; x++, at += 3) {
      const i = columns[x]!;
      to[at] = from[i]!;
      to[at + 1] = from[i + 1]!;
      to[at + 2] = from[i + 2]!;
    }
  }
}

/** "PNEUMONIA: 87.3% - PRESENT (THRESHOLD 50%)". */
export function findingLabel(finding: FindingResult): string {
  const pct = (p: number): string => `${Math.round(p * 1000) / 10}%`;
  return `${finding.finding.meaning}: ${pct(finding.probability)} - ${
    finding.present ? 'PRESENT' : 'ABSENT'
  } (THRESHOLD ${pct(finding.threshold)})`;
}

/**
 * Wrap to lines of at most `maxChars`, breaking preferably between " - " separated phrases
 * (so "NOT FOR DIAGNOSIS" stays together), then between words; a word longer than a line is
 * cut.
 */
export function wrap(text: string, maxChars: number): string[] {
  const lines: string[] = [];
  for (const phraseLines of text.split(' - ').map((phrase) => wrapWords(phrase, maxChars))) {
    const last = lines[lines.length - 1];
    const first = phraseLines[0];
    if (last !== undefined && first !== undefined && last.length + 3 + first.length <= maxChars) {
      lines[lines.length - 1] = `${last} - ${first}`;
      lines.push(...phraseLines.slice(1));
    } else {
      if (last !== undefined && first !== undefined && last.length + 2 <= maxChars) {
        lines[lines.length - 1] = `${last} -`;
      }
      lines.push(...phraseLines);
    }
  }
  return lines;
}

function wrapWords(text: string, maxChars: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (let word of text.split(/\s+/).filter((w) => w.length > 0)) {
    while (word.length > maxChars) {
      if (line.length > 0) {
        lines.push(line);
        line = '';
      }
      lines.push(word.slice(0, maxChars));
      word = word.slice(maxChars);
    }
    if (line.length === 0) line = word;
    else if (line.length + 1 + word.length <= maxChars) line += ` ${word}`;
    else {
      lines.push(line);
      line = word;
    }
  }
  if (line.length > 0) lines.push(line);
  return lines;
}

/** Grey image with the heatmap, bilinearly resampled to image size, alpha-blended on top. */
function blendImage(
  display: DisplayImage,
  heatmap: Heatmap,
  rgb: Uint8Array,
  width: number,
  yOffset: number,
  /** Picture rows above this one are painted over afterwards: not blended. */
  firstRow: number,
): void {
  const blendRow = rowBlender(display, heatmap);
  for (let y = Math.max(0, firstRow - yOffset); y < display.height; y++) {
    blendRow(y, rgb, (yOffset + y) * width * 3);
  }
}

/**
 * Blends display row y (grey, with the heatmap bilinearly resampled to the image size) into
 * `rgb` from byte `at` on, 3 bytes per pixel.
 */
function rowBlender(
  display: DisplayImage,
  heatmap: Heatmap,
): (y: number, rgb: Uint8Array, at: number) => void {
  const inverseMax = heatmap.max > 0 ? 1 / heatmap.max : 0;
  const width = display.width;
  if (heatmap.width === display.width && heatmap.height === display.height) {
    // The explainer already resampled the map to the image (the pipeline's case): bilinear
    // sampling at the same size is the identity, so read it directly — same values, and a
    // 1024² overlay no longer pays for a second resampling.
    return (y, rgb, at) => {
      for (let p = y * width, end = p + width; p < end; p++, at += 3) {
        blendPixel(rgb, at, display.data[p]!, heatmap.data[p]! * inverseMax);
      }
    };
  }
  const sx = heatmap.width / display.width;
  const sy = heatmap.height / display.height;
  // Column sample positions are the same for every row: compute them once.
  const colX0 = new Int32Array(display.width);
  const colX1 = new Int32Array(display.width);
  const colFx = new Float32Array(display.width);
  for (let x = 0; x < display.width; x++) {
    // Sample at pixel centres so the map is not shifted by half a cell.
    const hx = Math.min(heatmap.width - 1, Math.max(0, (x + 0.5) * sx - 0.5));
    colX0[x] = Math.floor(hx);
    colX1[x] = Math.min(heatmap.width - 1, colX0[x]! + 1);
    colFx[x] = hx - colX0[x]!;
  }
  const h = heatmap.data;
  return (y, rgb, at) => {
    const hy = Math.min(heatmap.height - 1, Math.max(0, (y + 0.5) * sy - 0.5));
    const row0 = Math.floor(hy) * heatmap.width;
    const row1 = Math.min(heatmap.height - 1, Math.floor(hy) + 1) * heatmap.width;
    const fy = hy - Math.floor(hy);
    for (let x = 0; x < width; x++, at += 3) {
      const x0 = colX0[x]!;
      const x1 = colX1[x]!;
      const fx = colFx[x]!;
      const top = h[row0 + x0]! * (1 - fx) + h[row0 + x1]! * fx;
      const bottom = h[row1 + x0]! * (1 - fx) + h[row1 + x1]! * fx;
      blendPixel(
        rgb,
        at,
        display.data[y * width + x]!,
        (top * (1 - fy) + bottom * fy) * inverseMax,
      );
    }
  };
}

/**
 * One output pixel: grey, tinted with viridis where the (0–1) heat is visible. Rounding is
 * (x + 0.5) | 0, which is Math.round for the non-negative values here and a third of the
 * cost on a 1-Mpx overlay.
 */
function blendPixel(rgb: Uint8Array, i: number, value: number, relativeHeat: number): void {
  const heat = Math.min(1, Math.max(0, relativeHeat));
  const grey = Math.min(1, Math.max(0, value)) * 255;
  if (heat < MIN_VISIBLE_HEAT) {
    rgb[i] = rgb[i + 1] = rgb[i + 2] = (grey + 0.5) | 0;
    return;
  }
  const alpha = MAX_ALPHA * heat;
  const c = 3 * ((heat * 255 + 0.5) | 0);
  rgb[i] = (grey * (1 - alpha) + VIRIDIS_RGB[c]! * alpha + 0.5) | 0;
  rgb[i + 1] = (grey * (1 - alpha) + VIRIDIS_RGB[c + 1]! * alpha + 0.5) | 0;
  rgb[i + 2] = (grey * (1 - alpha) + VIRIDIS_RGB[c + 2]! * alpha + 0.5) | 0;
}

function validate(display: DisplayImage, heatmap: Heatmap): void {
  const problems: string[] = [];
  for (const [name, img] of [
    ['display image', display],
    ['heatmap', heatmap],
  ] as const) {
    if (!(
      Number.isInteger(img.width) &&
      img.width > 0 &&
      Number.isInteger(img.height) &&
      img.height > 0
    )) {
      problems.push(`${name} size ${img.width}×${img.height} is not positive integers`);
    } else if (img.data.length !== img.width * img.height) {
      problems.push(`${name} has ${img.data.length} values for ${img.width}×${img.height}`);
    }
  }
  if (!(Number.isFinite(heatmap.max) && heatmap.max >= 0)) {
    problems.push(`heatmap max ${heatmap.max} is not a finite value ≥ 0`);
  }
  if (problems.length > 0) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `cannot render the overlay: ${problems.join('; ')} — pass the display image and heatmap the explainer produced`,
    );
  }
}
