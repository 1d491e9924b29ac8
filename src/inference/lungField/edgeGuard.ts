/**
 * The edge guard of the lung field (LUNG_FIELD.md step 2b, ADR 0165; reference:
 * training/cxrlib.py `edge_guard_box`, `guard_edges`). The lung model sees the whole image
 * stretched to its grid and, on some radiographs, takes the dark air beside the body at the
 * image's edge for lung; a 2% tighter crop of the same image then gives a much smaller lung
 * field, so the classifier's crop — and its score — moves. A classifier whose manifest asks
 * for it (`input.region.edgeGuard.inset`) gets the lungs found in both the whole image and the
 * image with `inset` of its width and height cut off each side: the per-pixel minimum of the
 * two probability maps, the inset view's mapped back onto the whole image's grid. On the
 * site's 576 images this moved fewer crop boxes by over 5% under a 2% crop (18 instead of 67
 * with cxr-lungs 1.0.0 and inset 0.04; ADR 0165).
 */
import { RadiolensError } from '../../foundation/core/index.js';
import { LUNG_GRID, type SourceBox } from './procedure.js';

/** The inset view's crop: floor(inset · W) columns and floor(inset · H) rows off each side. */
export function edgeGuardBox(width: number, height: number, inset: number): SourceBox {
  if (!(inset > 0 && inset < 0.25)) {
    throw new RadiolensError('E_BAD_INPUT', `an edge-guard inset of ${inset} is not in (0, 0.25)`);
  }
  // inset < 0.25 leaves at least half of each side: the view is never empty.
  const dx = Math.floor(inset * width);
  const dy = Math.floor(inset * height);
  return { left: dx, top: dy, right: width - dx, bottom: height - dy };
}

/**
 * Step 2b: the whole view's maps ([2, 256, 256], channel-major) with each value lowered to the
 * inset view's value at the same place of the image. For the whole grid's cell (gx, gy), its
 * centre in source pixels lies in the inset view's cell
 * `sx = ((gx + 0.5) · W / 256 − left) / (right − left) · 256` (likewise sy, double arithmetic in
 * this order, then floor); a cell whose centre lies outside the inset view gets 0, since no
 * lung found only at the image's edge is kept. Returns a new array.
 */
export function guardEdges(
  whole: Float32Array,
  inset: Float32Array,
  width: number,
  height: number,
  box: SourceBox,
): Float32Array {
  const n = LUNG_GRID;
  const plane = n * n;
  if (whole.length !== 2 * plane || inset.length !== 2 * plane) {
    throw new RadiolensError(
      'E_BAD_INPUT',
      `edge guard: lung maps of ${whole.length} and ${inset.length} values, not 2×${n}×${n}`,
    );
  }
  const columns = insetCells(width, box.left, box.right);
  const rows = insetCells(height, box.top, box.bottom);
  const out = new Float32Array(2 * plane);
  for (let c = 0; c < 2; c++) {
    const offset = c * plane;
    for (let gy = 0; gy < n; gy++) {
      const sy = rows[gy]!;
      for (let gx = 0; gx < n; gx++) {
        const sx = columns[gx]!;
        const at = offset + gy * n + gx;
        // Math.min would turn a NaN of either map into NaN too; kept so, a broken model shows.
        out[at] = sy < 0 || sx < 0 ? 0 : Math.min(whole[at]!, inset[offset + sy * n + sx]!);
      }
    }
  }
  return out;
}

/** For each whole-grid cell along one axis, the inset view's cell under its centre, or −1. */
function insetCells(size: number, from: number, to: number): Int32Array {
  const n = LUNG_GRID;
  const cells = new Int32Array(n);
  for (let g = 0; g < n; g++) {
    const s = Math.floor(((((g + 0.5) * size) / n - from) / (to - from)) * n);
    cells[g] = s >= 0 && s < n ? s : -1;
  }
  return cells;
}
