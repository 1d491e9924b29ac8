/**
 * Display-grey image → the tensor a model package asks for (ADR 0022): resized (stretch or
 * letterbox), normalised per channel, Float32 in CHW order, grey replicated when the network
 * wants 3 channels (ImageNet-pretrained backbones do).
 */
import { RadiolensError } from '../../foundation/core/index.js';
import { resizeArea } from './resize.js';
import type { GreyImage, GreySource, ImageInputSpec, PixelRegion } from './types.js';

/** Where the source image lands inside the model input, to map heatmaps back to the image. */
export interface InputPlacement {
  /** Offset of the resized image inside the input, in input pixels. */
  x: number;
  y: number;
  /** Size of the resized image inside the input, in input pixels. */
  width: number;
  height: number;
}

/**
 * Letterbox keeps the aspect ratio: scale to fit, centre, leave the rest black (display value
 * 0, i.e. what a radiograph's collimated border looks like). Stretch fills the input.
 */
export function inputPlacement(
  sourceWidth: number,
  sourceHeight: number,
  spec: Pick<ImageInputSpec, 'width' | 'height' | 'resize'>,
): InputPlacement {
  if (spec.resize === 'stretch') return { x: 0, y: 0, width: spec.width, height: spec.height };
  const scale = Math.min(spec.width / sourceWidth, spec.height / sourceHeight);
  const width = clamp(Math.round(sourceWidth * scale), 1, spec.width);
  const height = clamp(Math.round(sourceHeight * scale), 1, spec.height);
  return {
    x: Math.floor((spec.width - width) / 2),
    y: Math.floor((spec.height - height) / 2),
    width,
    height,
  };
}

/**
 * `region`: the input of that rectangle of the image alone (a crop, without copying it).
 * `image` may be rows re-made from the stored values (resizeArea reads only the region's).
 */
export function toModelInput(
  image: GreySource,
  spec: ImageInputSpec,
  region?: PixelRegion,
): Float32Array {
  channelNormalisation(spec);
  const placement =
    region === undefined
      ? inputPlacement(image.width, image.height, spec)
      : inputPlacement(region.right - region.left, region.bottom - region.top, spec);
  return placeInInput(
    resizeArea(image, placement.width, placement.height, region),
    spec,
    placement,
  );
}

/**
 * Normalise an image already resized to `placement`'s size and place it in a CHW tensor of
 * the input's size; the rest (letterbox padding) is display value 0, normalised like any
 * other black pixel.
 */
export function placeInInput(
  resized: GreyImage,
  spec: ImageInputSpec,
  placement: InputPlacement,
): Float32Array {
  const { mean, std } = channelNormalisation(spec);
  const plane = spec.width * spec.height;
  const output = new Float32Array(plane * spec.channels);
  for (let c = 0; c < spec.channels; c++) {
    const m = mean[c] as number;
    const inverseStd = 1 / (std[c] as number);
    const base = c * plane;
    output.fill(-m * inverseStd, base, base + plane);
    for (let y = 0; y < placement.height; y++) {
      const from = y * placement.width;
      const to = base + (placement.y + y) * spec.width + placement.x;
      for (let x = 0; x < placement.width; x++) {
        output[to + x] = ((resized.data[from + x] as number) - m) * inverseStd;
      }
    }
  }
  return output;
}

export function channelNormalisation(spec: ImageInputSpec): { mean: number[]; std: number[] } {
  if (
    !Number.isInteger(spec.width) ||
    !Number.isInteger(spec.height) ||
    spec.width < 1 ||
    spec.height < 1
  ) {
    throw new RadiolensError(
      'E_MANIFEST_INVALID',
      `model input size ${spec.width}×${spec.height} is not a positive whole number of pixels — fix the manifest's input spec`,
    );
  }
  if (spec.channels !== 1 && spec.channels !== 3) {
    throw new RadiolensError(
      'E_MANIFEST_INVALID',
      `model input has ${String(spec.channels)} channels; only 1 (grey) or 3 (grey replicated) are supported — fix the manifest's input spec`,
    );
  }
  const { normalisation } = spec;
  if (normalisation.kind === 'unit') {
    return {
      mean: new Array<number>(spec.channels).fill(0),
      std: new Array<number>(spec.channels).fill(1),
    };
  }
  const { mean, std } = normalisation;
  if (mean.length !== spec.channels || std.length !== spec.channels) {
    throw new RadiolensError(
      'E_MANIFEST_INVALID',
      `normalisation has ${mean.length} means and ${std.length} standard deviations for ${spec.channels} channels — give one of each per channel in the manifest`,
    );
  }
  if (std.some((s) => !(s > 0) || !Number.isFinite(s)) || mean.some((m) => !Number.isFinite(m))) {
    throw new RadiolensError(
      'E_MANIFEST_INVALID',
      `normalisation std must be positive and mean finite (got mean ${JSON.stringify(mean)}, std ${JSON.stringify(std)}) — fix the manifest`,
    );
  }
  return { mean, std };
}

function clamp(value: number, low: number, high: number): number {
  return Math.min(Math.max(value, low), high);
}
