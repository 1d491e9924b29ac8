import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isRadiolensError } from '../../foundation/core/index.js';
import { drawText, textWidth } from './bitmapFont.js';
import {
  syntheticDisplay,
  syntheticHeatmap,
  syntheticRecord,
} from '../../../test/support/results.js';
import { renderOverlayRgb, viridis, VIRIDIS_RGB } from './index.js';
import { wrap } from './overlay.js';

function render() {
  const record = syntheticRecord();
  const display = syntheticDisplay();
  return {
    display,
    overlay: renderOverlayRgb({ display, heatmap: syntheticHeatmap(), findings: record.findings }),
  };
}

function pixel(o: ReturnType<typeof render>['overlay'], x: number, y: number): number[] {
  const i = (y * o.width + x) * 3;
  return [o.rgb[i]!, o.rgb[i + 1]!, o.rgb[i + 2]!];
}

test('the heatmap is burned in: hot pixels are coloured, cold pixels keep the source grey', () => {
  const { display, overlay } = render();
  const y0 = overlay.layout.image.y0;
  // Heatmap cell (col 4, row 11) of 16 → image pixel centre (72, 184) of 256.
  const hot = pixel(overlay, 72, y0 + 184);
  const grey = Math.round(display.data[184 * 256 + 72]! * 255);
  assert.notDeepEqual(hot, [grey, grey, grey]);
  assert.ok(hot[1]! > hot[2]! - 60 && hot[0] !== hot[2], `hot pixel ${hot} should be tinted`);
  // Far from the hot region: unchanged grey.
  const cold = pixel(overlay, 220, y0 + 30);
  const coldGrey = Math.round(display.data[30 * 256 + 220]! * 255);
  assert.deepEqual(cold, [coldGrey, coldGrey, coldGrey]);
});

test('the banner is red with white text and the legend bar runs through viridis', () => {
  const { overlay } = render();
  let white = 0;
  let red = 0;
  for (let y = overlay.layout.banner.y0; y < overlay.layout.banner.y1; y++) {
    for (let x = 0; x < overlay.width; x++) {
      const [r, g, b] = pixel(overlay, x, y);
      if (r === 255 && g === 255 && b === 255) white++;
      if (r === 150 && g === 0 && b === 0) red++;
    }
  }
  assert.ok(white > 300, `banner has ${white} text pixels`);
  assert.ok(red > white, 'banner background is red');
  // Find the colour bar row in the panel: its first and last pixels are viridis 0 and 255.
  let found = false;
  for (let y = overlay.layout.panel.y0; y < overlay.layout.panel.y1 && !found; y++) {
    const left = pixel(overlay, 2, y);
    const right = pixel(overlay, overlay.width - 3, y);
    found = left.join() === viridis(0).join() && right.join() === viridis(1).join();
  }
  assert.ok(found, 'legend colour bar from viridis(0) to viridis(1)');
});

test('the viridis table is the real one: 256 entries from dark purple to yellow', () => {
  assert.equal(VIRIDIS_RGB.length, 768);
  assert.deepEqual(viridis(0), [0x44, 0x01, 0x54]);
  assert.deepEqual(viridis(1), [0xfd, 0xe7, 0x25]);
  assert.deepEqual(viridis(0.5), [0x21, 0x91, 0x8c]);
});

test('font renders known glyph shapes and measures text', () => {
  const lit = new Set<string>();
  drawText('I', 0, 0, 1, (x, y) => lit.add(`${x},${y}`));
  // 'I' is a vertical bar in column 2 (7 pixels) plus serifs in columns 1 and 3.
  for (let y = 0; y < 7; y++) assert.ok(lit.has(`2,${y}`));
  assert.equal(lit.size, 11);
  assert.equal(textWidth('AB', 2), (2 * 6 - 1) * 2);
  let unknown = 0;
  drawText('µ', 0, 0, 1, () => unknown++);
  let question = 0;
  drawText('?', 0, 0, 1, () => question++);
  assert.equal(unknown, question, 'unknown characters are drawn as ?');
});

test('wrap keeps phrases together and never exceeds the line', () => {
  const lines = wrap('AI OUTPUT - FOR REVIEW BY A RADIOLOGIST - NOT FOR DIAGNOSIS', 42);
  assert.deepEqual(lines, ['AI OUTPUT - FOR REVIEW BY A RADIOLOGIST -', 'NOT FOR DIAGNOSIS']);
  for (const line of wrap('SUPERCALIFRAGILISTIC WORDS - X', 8)) assert.ok(line.length <= 8, line);
});

test('bad sizes are refused with a code', () => {
  const record = syntheticRecord();
  assert.throws(
    () =>
      renderOverlayRgb({
        display: { width: 4, height: 4, data: new Float32Array(3) },
        heatmap: syntheticHeatmap(),
        findings: record.findings,
      }),
    (e: unknown) => isRadiolensError(e) && e.code === 'E_BAD_INPUT',
  );
});

test('on the source grid every image row below the band is the blended display, nearest-neighbour upscaled', () => {
  // ADR 0129: rows under the band are not blended, and an exact doubling spreads each pixel
  // without a table; neither may change a visible byte.
  const record = syntheticRecord();
  const display = syntheticDisplay();
  const heatmap = syntheticHeatmap();
  const plain = renderOverlayRgb({ display, heatmap, findings: record.findings });
  for (const factor of [1, 2, 3]) {
    const rows = display.height * factor;
    const columns = display.width * factor;
    const grid = renderOverlayRgb({
      display,
      heatmap,
      findings: record.findings,
      sourceGrid: { rows, columns },
    });
    assert.ok(grid.layout.panel.y1 > 0 && grid.layout.panel.y1 < rows);
    for (let y = grid.layout.panel.y1; y < rows; y++) {
      for (let x = 0; x < columns; x++) {
        const expected = pixel(
          plain,
          Math.floor(x / factor),
          plain.layout.image.y0 + Math.floor(y / factor),
        );
        const actual = pixel(grid, x, y);
        if (actual.join() !== expected.join()) {
          assert.fail(`×${factor}: pixel (${x}, ${y}) is ${actual}, expected ${expected}`);
        }
      }
    }
  }
});
