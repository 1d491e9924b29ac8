import { RadiolensError } from '../../foundation/core/index.js';
import {
  inputPlacement,
  placeInInput,
  toModelInput,
  type GreyImage,
  type GreySource,
} from '../imaging/index.js';
import { sharedInferencePool, type InferencePool, type ModelPackage } from '../models/index.js';
import { edgeGuardBox, guardEdges } from './edgeGuard.js';
import { LUNG_GRID, lungFieldOf, type LungField, type LungProbabilities } from './procedure.js';

/** How a classifier asks for its lung field (its manifest's input.region). */
export interface SegmentOptions {
  /** LUNG_FIELD.md step 2b (edgeGuard.inset): keep only lung also found with this much cut off each side. */
  edgeGuardInset?: number | undefined;
}

/** One image's lung probabilities (LUNG_FIELD.md step 2) and its lung field (steps 3–6). */
export interface SegmentedLungs {
  probabilities: LungProbabilities;
  field: LungField;
}

/**
 * A segmentation package (task 'segmentation', e.g. cxr-lungs) run through the inference pool
 * (ADR 0121) like every classifier: the main thread prepares the 256² input and reads the
 * maps, the session lives in an inference thread. The graph is checked against the manifest
 * when it opens, so a wrong package fails here and not in the middle of a worklist.
 */
export class LungSegmenter {
  private constructor(
    readonly pkg: ModelPackage,
    private readonly pool: InferencePool,
    private readonly key: string,
  ) {}

  static async open(
    pkg: ModelPackage,
    options: { pool?: InferencePool } = {},
  ): Promise<LungSegmenter> {
    const { manifest } = pkg;
    const where = `${manifest.id}@${manifest.version}`;
    if (manifest.task !== 'segmentation') {
      throw new RadiolensError(
        'E_BAD_INPUT',
        `${where} is a ${manifest.task} model; a lung field needs a segmentation package such as cxr-lungs`,
      );
    }
    const { input, labels } = manifest;
    if (
      input.width !== LUNG_GRID ||
      input.height !== LUNG_GRID ||
      input.channels !== 1 ||
      labels.length !== 2
    ) {
      throw new RadiolensError(
        'E_BAD_INPUT',
        `${where} takes ${input.width}×${input.height}×${input.channels} and has ${labels.length} channel label(s); the lung-field procedure (LUNG_FIELD.md) needs 256×256×1 in and two lungs (right, left) out`,
      );
    }
    const pool = options.pool ?? sharedInferencePool();
    let opened: Awaited<ReturnType<InferencePool['open']>>;
    try {
      opened = await pool.open({ modelPath: pkg.modelPath });
    } catch (error) {
      throw new RadiolensError(
        'E_MODEL_RUNTIME',
        `${where}: onnxruntime cannot load ${pkg.modelPath} (${(error as Error).message})`,
        { subject: pkg.modelPath, cause: error },
      );
    }
    const { metadata, key } = opened;
    const missing = [
      ...(metadata.inputNames.includes(input.inputName) ? [] : [`input "${input.inputName}"`]),
      ...(metadata.outputNames.includes(manifest.outputs.scores)
        ? []
        : [`output "${manifest.outputs.scores}"`]),
    ];
    if (missing.length > 0) {
      await pool.release(key);
      throw new RadiolensError(
        'E_MODEL_RUNTIME',
        `${where}: the graph has no ${missing.join(' and ')} (inputs ${metadata.inputNames.join(', ')}; outputs ${metadata.outputNames.join(', ')}) — fix the manifest`,
        { subject: pkg.modelPath },
      );
    }
    return new LungSegmenter(pkg, pool, key);
  }

  /** Lung probabilities and lung field of each image (display grey at full resolution). */
  async segment(
    images: readonly GreySource[],
    options: SegmentOptions = {},
  ): Promise<SegmentedLungs[]> {
    const { input } = this.pkg.manifest;
    return this.run(
      images.map((image) => ({
        width: image.width,
        height: image.height,
        input: toModelInput(image, input),
        grey: image,
      })),
      options,
    );
  }

  /**
   * The size an image of width × height is area-resized to before it is placed in the lung
   * model's input (LUNG_FIELD.md step 1: stretched to the 256² grid).
   */
  gridSize(width: number, height: number): { width: number; height: number } {
    const placement = inputPlacement(width, height, this.pkg.manifest.input);
    return { width: placement.width, height: placement.height };
  }

  /**
   * segment() for images already area-resized to gridSize() — by the one pass that also makes
   * the overlay (imaging's toDisplayGreyAndResized; ADR 0163): the same input, bit for bit,
   * without a second pass over the full-resolution grey. With an edge guard the inset view is
   * needed too: `insetGrid`, the edgeGuardBox crop resized to gridSize() of its size by the same
   * pass, or else `grey`, from which it is made.
   */
  async segmentResized(
    images: ReadonlyArray<{
      width: number;
      height: number;
      grid: GreyImage;
      grey?: GreySource;
      insetGrid?: GreyImage;
    }>,
    options: SegmentOptions = {},
  ): Promise<SegmentedLungs[]> {
    return this.run(
      images.map(({ width, height, grid, grey, insetGrid }) => ({
        width,
        height,
        input: this.placeGrid(grid, width, height),
        grey,
        insetGrid,
      })),
      options,
    );
  }

  /** A grid made for an image (or crop) of width × height, placed in the model's input. */
  private placeGrid(grid: GreyImage, width: number, height: number): Float32Array {
    const spec = this.pkg.manifest.input;
    const placement = inputPlacement(width, height, spec);
    if (grid.width !== placement.width || grid.height !== placement.height) {
      throw new RadiolensError(
        'E_BAD_INPUT',
        `the lung grid of a ${width}×${height} image is ${placement.width}×${placement.height}, not ${grid.width}×${grid.height} — resize it to gridSize()`,
      );
    }
    return placeInInput(grid, spec, placement);
  }

  private async run(
    images: ReadonlyArray<{
      width: number;
      height: number;
      input: Float32Array;
      grey?: GreySource | undefined;
      insetGrid?: GreyImage | undefined;
    }>,
    options: SegmentOptions,
  ): Promise<SegmentedLungs[]> {
    const inset = options.edgeGuardInset;
    if (inset === undefined) {
      const maps = await this.probabilities(images.map((image) => image.input));
      return images.map((image, i) => segmented(maps[i]!, image.width, image.height));
    }
    // LUNG_FIELD.md step 2b: the inset views in the same batch as the whole images.
    const boxes = images.map((image) => edgeGuardBox(image.width, image.height, inset));
    const insetInputs = images.map((image, i) => {
      const box = boxes[i]!;
      if (image.insetGrid !== undefined) {
        return this.placeGrid(image.insetGrid, box.right - box.left, box.bottom - box.top);
      }
      if (image.grey === undefined) {
        throw new RadiolensError(
          'E_BAD_INPUT',
          'an edge-guarded lung field needs the image itself or its inset grid, not only its lung grid',
        );
      }
      return toModelInput(image.grey, { ...this.pkg.manifest.input, resize: 'stretch' }, box);
    });
    const maps = await this.probabilities([...images.map((image) => image.input), ...insetInputs]);
    return images.map((image, i) =>
      segmented(
        guardEdges(maps[i]!, maps[images.length + i]!, image.width, image.height, boxes[i]!),
        image.width,
        image.height,
      ),
    );
  }

  /** Step 2: the model's [2, 256, 256] probability maps of each prepared input, in one batch. */
  private async probabilities(inputs: readonly Float32Array[]): Promise<Float32Array[]> {
    if (inputs.length === 0) return [];
    const { manifest } = this.pkg;
    const plane = 2 * LUNG_GRID * LUNG_GRID;
    const size = LUNG_GRID * LUNG_GRID;
    const stacked = new Float32Array(inputs.length * size);
    inputs.forEach((input, i) => stacked.set(input, i * size));
    const name = manifest.outputs.scores;
    let outputs: Awaited<ReturnType<InferencePool['run']>>;
    try {
      outputs = await this.pool.run(
        this.key,
        manifest.input.inputName,
        stacked,
        [inputs.length, 1, LUNG_GRID, LUNG_GRID],
        [name],
      );
    } catch (error) {
      throw new RadiolensError(
        'E_MODEL_RUNTIME',
        `${manifest.id}@${manifest.version}: inference failed (${(error as Error).message})`,
        { subject: this.pkg.modelPath, cause: error },
      );
    }
    const maps = outputs[name]!;
    if (maps.type !== 'float32' || maps.data.length !== inputs.length * plane) {
      throw new RadiolensError(
        'E_MODEL_RUNTIME',
        `${manifest.id}@${manifest.version}: output "${name}" has shape [${maps.dims.join(',')}] (${maps.type}); [${inputs.length},2,${LUNG_GRID},${LUNG_GRID}] float32 was expected`,
        { subject: this.pkg.modelPath },
      );
    }
    const activation = manifest.outputs.activation;
    return inputs.map((_, i) => {
      const data = maps.data.slice(i * plane, (i + 1) * plane);
      if (activation === 'sigmoid') {
        for (let j = 0; j < data.length; j++) data[j] = 1 / (1 + Math.exp(-data[j]!));
      }
      return data;
    });
  }

  async dispose(): Promise<void> {
    await this.pool.release(this.key);
  }
}

function segmented(data: Float32Array, width: number, height: number): SegmentedLungs {
  const probabilities = { data };
  return { probabilities, field: lungFieldOf(probabilities, width, height) };
}
