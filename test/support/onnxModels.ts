import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  floatTensor,
  loadModelPackage,
  OnnxAttributeType,
  OnnxDataType,
  sha256,
  writeOnnxModel,
  type ModelLabel,
  type ModelManifest,
  type ModelPackage,
  type OnnxAttribute,
  type OnnxNode,
  type OnnxTensor,
  type OnnxValueInfo,
} from '../../src/inference/models/index.js';

/**
 * Small ONNX models with known, seeded weights, written with Radiolens' own ONNX writer, and
 * a package builder around them. They stand in for real networks in tests (pipeline, results,
 * CLI) and for the benchmark (DenseNet-121 topology, random weights). Nothing here is a mock:
 * onnxruntime runs these graphs exactly as it runs an exported network.
 */

/** mulberry32: a tiny seeded PRNG, so the same seed always gives the same weights. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Normal(0, std) values by Box–Muller from a seeded source. */
function gaussian(random: () => number, count: number, std: number): Float32Array {
  const out = new Float32Array(count);
  for (let i = 0; i < count; i += 2) {
    const u = 1 - random();
    const v = random();
    const r = std * Math.sqrt(-2 * Math.log(u));
    out[i] = r * Math.cos(2 * Math.PI * v);
    if (i + 1 < count) out[i + 1] = r * Math.sin(2 * Math.PI * v);
  }
  return out;
}

const ints = (name: string, values: number[]): OnnxAttribute => ({
  name,
  type: OnnxAttributeType.INTS,
  ints: values,
});
const int = (name: string, value: number): OnnxAttribute => ({
  name,
  type: OnnxAttributeType.INT,
  i: value,
});
const float = (name: string, value: number): OnnxAttribute => ({
  name,
  type: OnnxAttributeType.FLOAT,
  f: value,
});

function tensorInfo(name: string, dims: (number | string)[]): OnnxValueInfo {
  return {
    name,
    type: {
      tensorType: {
        elemType: OnnxDataType.FLOAT,
        shape: {
          dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })),
        },
      },
    },
  };
}

/** Collects nodes and initializers; names are explicit so tests can find them. */
class GraphBuilder {
  readonly nodes: OnnxNode[] = [];
  readonly initializers: OnnxTensor[] = [];
  private counter = 0;

  node(opType: string, inputs: string[], attribute: OnnxAttribute[] = [], output?: string): string {
    const out = output ?? `${opType.toLowerCase()}_${this.counter++}`;
    this.nodes.push({ name: out, opType, input: inputs, output: [out], attribute });
    return out;
  }

  init(name: string, dims: number[], data: Float32Array): string {
    this.initializers.push(floatTensor(name, dims, data));
    return name;
  }

  model(name: string, inputs: OnnxValueInfo[], outputs: OnnxValueInfo[]): Uint8Array {
    return writeOnnxModel({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 17 }],
      producerName: 'radiolens-testing',
      graph: {
        name,
        node: this.nodes,
        initializer: this.initializers,
        input: inputs,
        output: outputs,
      },
    });
  }
}

export interface SmallCnnOptions {
  seed?: number;
  /** Input side in pixels (square). Default 16. */
  size?: number;
  channels?: 1 | 3;
  /** Feature channels K of the last convolution. Default 8. */
  featureChannels?: number;
  labels?: number;
  /** true: the graph ends in Sigmoid ("scores"); false: it outputs logits ("logits"). */
  sigmoidInGraph?: boolean;
}

export interface SmallCnn {
  bytes: Uint8Array;
  inputName: string;
  scoresName: string;
  featuresName: string;
  /** [labels, K] as Gemm(transB=1) uses it — manifest headWeightLayout 'classByChannel'. */
  headWeight: Float32Array;
  headBias: Float32Array;
  featureShape: { k: number; h: number; w: number };
}

/**
 * image [N,C,S,S] → Conv3x3(8, pad 1) → Relu → Conv3x3(K, stride 2, pad 1) → Relu = features
 * [N,K,S/2,S/2] → GlobalAveragePool → Flatten → Gemm (head) → Sigmoid.
 */
export function buildSmallCnnOnnx(options: SmallCnnOptions = {}): SmallCnn {
  const size = options.size ?? 16;
  const channels = options.channels ?? 1;
  const k = options.featureChannels ?? 8;
  const labels = options.labels ?? 1;
  const sigmoidInGraph = options.sigmoidInGraph ?? true;
  const random = seededRandom(options.seed ?? 1);
  const g = new GraphBuilder();
  const w1 = g.init(
    'conv1.weight',
    [8, channels, 3, 3],
    gaussian(random, 8 * channels * 9, Math.sqrt(2 / (channels * 9))),
  );
  const b1 = g.init('conv1.bias', [8], gaussian(random, 8, 0.1));
  const w2 = g.init('conv2.weight', [k, 8, 3, 3], gaussian(random, k * 72, Math.sqrt(2 / 72)));
  const b2 = g.init('conv2.bias', [k], gaussian(random, k, 0.1));
  const headWeight = gaussian(random, labels * k, 1);
  const headBias = gaussian(random, labels, 0.5);
  g.init('head.weight', [labels, k], headWeight);
  g.init('head.bias', [labels], headBias);
  const c1 = g.node(
    'Conv',
    ['image', w1, b1],
    [ints('kernel_shape', [3, 3]), ints('pads', [1, 1, 1, 1])],
  );
  const r1 = g.node('Relu', [c1]);
  const c2 = g.node(
    'Conv',
    [r1, w2, b2],
    [ints('kernel_shape', [3, 3]), ints('pads', [1, 1, 1, 1]), ints('strides', [2, 2])],
  );
  const features = g.node('Relu', [c2], [], 'features');
  const pooled = g.node('GlobalAveragePool', [features]);
  const flat = g.node('Flatten', [pooled], [int('axis', 1)]);
  const logits = g.node('Gemm', [flat, 'head.weight', 'head.bias'], [int('transB', 1)], 'logits');
  const scoresName = sigmoidInGraph ? g.node('Sigmoid', [logits], [], 'scores') : logits;
  const h = Math.ceil(size / 2);
  const bytes = g.model(
    'small-cnn',
    [tensorInfo('image', ['N', channels, size, size])],
    [tensorInfo(scoresName, ['N', labels]), tensorInfo('features', ['N', k, h, h])],
  );
  return {
    bytes,
    inputName: 'image',
    scoresName,
    featuresName: 'features',
    headWeight,
    headBias,
    featureShape: { k, h, w: h },
  };
}

/**
 * The head alone: features [N,K,h,w] → GlobalAveragePool → Flatten → Gemm → "logits". Lets
 * a test differentiate the class logit with respect to the feature map through onnxruntime.
 */
export function buildHeadOnnx(
  headWeight: Float32Array,
  headBias: Float32Array,
  shape: { k: number; h: number; w: number },
): Uint8Array {
  const labels = headBias.length;
  const g = new GraphBuilder();
  g.init('head.weight', [labels, shape.k], headWeight);
  g.init('head.bias', [labels], headBias);
  const pooled = g.node('GlobalAveragePool', ['features']);
  const flat = g.node('Flatten', [pooled], [int('axis', 1)]);
  g.node('Gemm', [flat, 'head.weight', 'head.bias'], [int('transB', 1)], 'logits');
  return g.model(
    'head',
    [tensorInfo('features', ['N', shape.k, shape.h, shape.w])],
    [tensorInfo('logits', ['N', labels])],
  );
}

/**
 * A model whose score depends only on the top-left quadrant of its [N,1,S,S] input:
 * sigmoid(8·mean(x ⊙ mask) − 1). No feature output — explained by occlusion.
 */
export function buildQuadrantOnnx(size = 16): Uint8Array {
  const g = new GraphBuilder();
  const mask = new Float32Array(size * size);
  const half = size / 2;
  for (let y = 0; y < half; y++) for (let x = 0; x < half; x++) mask[y * size + x] = 1;
  g.init('quadrant.mask', [1, 1, size, size], mask);
  g.init('head.weight', [1, 1], Float32Array.of(8));
  g.init('head.bias', [1], Float32Array.of(-1));
  const masked = g.node('Mul', ['image', 'quadrant.mask']);
  const pooled = g.node('GlobalAveragePool', [masked]);
  const flat = g.node('Flatten', [pooled], [int('axis', 1)]);
  const logits = g.node('Gemm', [flat, 'head.weight', 'head.bias'], [int('transB', 1)]);
  g.node('Sigmoid', [logits], [], 'scores');
  return g.model(
    'quadrant',
    [tensorInfo('image', ['N', 1, size, size])],
    [tensorInfo('scores', ['N', 1])],
  );
}

export interface DenseNet121 {
  bytes: Uint8Array;
  inputName: 'image';
  scoresName: 'scores';
  featuresName: 'features';
  parameterCount: number;
  convolutionCount: number;
}

/**
 * DenseNet-121 (Huang et al. 2017; torchvision layout and initializer names): 7x7/2 stem,
 * max-pool, dense blocks of 6-12-24-16 layers with growth 32 and 4x bottlenecks, transitions
 * with compression 0.5, final BatchNorm+ReLU giving the 1024x7x7 feature map at 224x224 input,
 * then GAP + linear head + Sigmoid. BatchNorm is kept as BatchNormalization nodes (as exporters
 * write it before optimisation). Weights are seeded random (He-normal convolutions): the
 * topology and cost are real, the predictions are not. ~8 M parameters, ~32 MB.
 */
/** DenseNet-121's real topology with seeded random weights; `size` is the square input side
 * (a multiple of 32; 224 as published, larger to make a deliberately slow model). */
export function buildDenseNet121Onnx(seed = 121, labels = 1, size = 224): DenseNet121 {
  const random = seededRandom(seed);
  const g = new GraphBuilder();
  let parameterCount = 0;
  let convolutionCount = 0;
  const param = (name: string, dims: number[], data: Float32Array): string => {
    parameterCount += data.length;
    return g.init(name, dims, data);
  };
  const conv = (
    prefix: string,
    x: string,
    cin: number,
    cout: number,
    kernel: number,
    stride: number,
    pad: number,
  ): string => {
    convolutionCount++;
    const w = param(
      `${prefix}.weight`,
      [cout, cin, kernel, kernel],
      gaussian(random, cout * cin * kernel * kernel, Math.sqrt(2 / (cin * kernel * kernel))),
    );
    return g.node(
      'Conv',
      [x, w],
      [
        ints('kernel_shape', [kernel, kernel]),
        ints('strides', [stride, stride]),
        ints('pads', [pad, pad, pad, pad]),
      ],
    );
  };
  const norm = (prefix: string, x: string, c: number, output?: string): string => {
    const ones = new Float32Array(c).fill(1);
    const scale = param(`${prefix}.weight`, [c], ones);
    const bias = param(`${prefix}.bias`, [c], new Float32Array(c));
    const mean = g.init(`${prefix}.running_mean`, [c], new Float32Array(c));
    const variance = g.init(`${prefix}.running_var`, [c], ones);
    return g.node(
      'BatchNormalization',
      [x, scale, bias, mean, variance],
      [float('epsilon', 1e-5)],
      output,
    );
  };
  const relu = (x: string, output?: string): string => g.node('Relu', [x], [], output);

  let x = conv('features.conv0', 'image', 3, 64, 7, 2, 3);
  x = relu(norm('features.norm0', x, 64));
  x = g.node(
    'MaxPool',
    [x],
    [ints('kernel_shape', [3, 3]), ints('strides', [2, 2]), ints('pads', [1, 1, 1, 1])],
  );
  let channels = 64;
  const growth = 32;
  const blocks = [6, 12, 24, 16];
  blocks.forEach((layers, b) => {
    for (let l = 1; l <= layers; l++) {
      const p = `features.denseblock${b + 1}.denselayer${l}`;
      let y = relu(norm(`${p}.norm1`, x, channels));
      y = conv(`${p}.conv1`, y, channels, 4 * growth, 1, 1, 0);
      y = relu(norm(`${p}.norm2`, y, 4 * growth));
      y = conv(`${p}.conv2`, y, 4 * growth, growth, 3, 1, 1);
      x = g.node('Concat', [x, y], [int('axis', 1)]);
      channels += growth;
    }
    if (b < blocks.length - 1) {
      const p = `features.transition${b + 1}`;
      let y = relu(norm(`${p}.norm`, x, channels));
      y = conv(`${p}.conv`, y, channels, channels / 2, 1, 1, 0);
      x = g.node('AveragePool', [y], [ints('kernel_shape', [2, 2]), ints('strides', [2, 2])]);
      channels /= 2;
    }
  });
  const features = relu(norm('features.norm5', x, channels), 'features');
  const pooled = g.node('GlobalAveragePool', [features]);
  const flat = g.node('Flatten', [pooled], [int('axis', 1)]);
  param(
    'classifier.weight',
    [labels, channels],
    gaussian(random, labels * channels, Math.sqrt(1 / channels)),
  );
  param('classifier.bias', [labels], new Float32Array(labels));
  const logits = g.node('Gemm', [flat, 'classifier.weight', 'classifier.bias'], [int('transB', 1)]);
  g.node('Sigmoid', [logits], [], 'scores');
  const bytes = g.model(
    'densenet121',
    [tensorInfo('image', ['N', 3, size, size])],
    [
      tensorInfo('scores', ['N', labels]),
      tensorInfo('features', ['N', channels, size / 32, size / 32]),
    ],
  );
  return {
    bytes,
    inputName: 'image',
    scoresName: 'scores',
    featuresName: 'features',
    parameterCount,
    convolutionCount,
  };
}

export const PNEUMONIA_LABEL: ModelLabel = {
  id: 'pneumonia',
  code: { scheme: 'SCT', value: '233604007', meaning: 'Pneumonia' },
  threshold: 0.5,
  alertLevel: 'urgent',
};

export const PLEURAL_EFFUSION_LABEL: ModelLabel = {
  id: 'pleural-effusion',
  code: { scheme: 'SCT', value: '60046008', meaning: 'Pleural effusion' },
  threshold: 0.5,
  alertLevel: 'routine',
};

export interface TestModelPackageOptions {
  /** 'small-cnn' (default, exact Grad-CAM), 'quadrant' (occlusion), 'densenet121' (benchmark). */
  architecture?: 'small-cnn' | 'quadrant' | 'densenet121';
  id?: string;
  version?: string;
  seed?: number;
  /** 1 (pneumonia) or 2 (pneumonia, pleural effusion) labels, or your own list. */
  labels?: 1 | 2 | ModelLabel[];
  /** small-cnn: false exposes logits and lets the runner apply the sigmoid. Default true. */
  sigmoidInGraph?: boolean;
  /** Input side: small-cnn and quadrant default 16, densenet121 224 (a multiple of 32). */
  size?: number;
  channels?: 1 | 3;
  resize?: 'stretch' | 'letterbox';
  /** Extra files to put in the package (listed with their hashes). */
  extraFiles?: Record<string, Uint8Array | string>;
  /** Last word on the manifest before hashes are written (e.g. a different intended use). */
  edit?: (manifest: ModelManifest) => ModelManifest;
}

/**
 * Write a complete, valid model package (manifest.json + model.onnx with correct hashes) into
 * dir and return it loaded and verified. Default: a chest-radiograph classifier for
 * pneumonia, intended for CR/DX CHEST PA/AP MONOCHROME1/2 images.
 */
export async function writeTestModelPackage(
  dir: string,
  options: TestModelPackageOptions = {},
): Promise<ModelPackage> {
  const architecture = options.architecture ?? 'small-cnn';
  const labels =
    options.labels === undefined || options.labels === 1
      ? [PNEUMONIA_LABEL]
      : options.labels === 2
        ? [PNEUMONIA_LABEL, PLEURAL_EFFUSION_LABEL]
        : options.labels;
  let bytes: Uint8Array;
  let input: ModelManifest['input'];
  let outputs: ModelManifest['outputs'];
  let explanation: ModelManifest['explanation'];
  const resize = options.resize ?? 'letterbox';
  if (architecture === 'small-cnn') {
    const size = options.size ?? 16;
    const channels = options.channels ?? 1;
    const cnn = buildSmallCnnOnnx({
      seed: options.seed ?? 1,
      size,
      channels,
      labels: labels.length,
      sigmoidInGraph: options.sigmoidInGraph ?? true,
    });
    bytes = cnn.bytes;
    input = {
      width: size,
      height: size,
      channels,
      resize,
      normalisation: { kind: 'unit' },
      inputName: cnn.inputName,
    };
    outputs = {
      scores: cnn.scoresName,
      activation: options.sigmoidInGraph === false ? 'sigmoid' : 'none',
      features: cnn.featuresName,
    };
    explanation = {
      method: 'cam',
      headWeight: 'head.weight',
      headWeightLayout: 'classByChannel',
      headBias: 'head.bias',
    };
  } else if (architecture === 'quadrant') {
    if (labels.length !== 1) throw new Error('the quadrant test model has exactly one label');
    const size = options.size ?? 16;
    bytes = buildQuadrantOnnx(size);
    input = {
      width: size,
      height: size,
      channels: 1,
      resize,
      normalisation: { kind: 'unit' },
      inputName: 'image',
    };
    outputs = { scores: 'scores', activation: 'none' };
    explanation = { method: 'occlusion', patch: 4, stride: 2, baseline: 0 };
  } else {
    const size = options.size ?? 224;
    const net = buildDenseNet121Onnx(options.seed ?? 121, labels.length, size);
    bytes = net.bytes;
    input = {
      width: size,
      height: size,
      channels: 3,
      resize,
      normalisation: { kind: 'meanStd', mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
      inputName: net.inputName,
    };
    outputs = { scores: net.scoresName, activation: 'none', features: net.featuresName };
    explanation = {
      method: 'cam',
      headWeight: 'classifier.weight',
      headWeightLayout: 'classByChannel',
      headBias: 'classifier.bias',
    };
  }
  const files: Record<string, Uint8Array> = { 'model.onnx': bytes };
  for (const [name, content] of Object.entries(options.extraFiles ?? {})) {
    files[name] = typeof content === 'string' ? Buffer.from(content) : content;
  }
  let manifest: ModelManifest = {
    id: options.id ?? `test-${architecture}`,
    version: options.version ?? '1.0.0',
    name: `Radiolens test model (${architecture}, seeded random weights)`,
    task: 'classification',
    manufacturer: 'Radiolens project (test fixture)',
    intendedUse: {
      summary:
        'TEST FIXTURE ONLY: flags chest radiographs for radiologist review. Not a medical device.',
      modalities: ['CR', 'DX'],
      bodyParts: ['CHEST'],
      viewPositions: ['PA', 'AP'],
      photometric: ['MONOCHROME1', 'MONOCHROME2'],
      minRows: 256,
      minColumns: 256,
      bitsStored: { min: 8, max: 16 },
      notFor: ['clinical use', 'paediatric patients', 'lateral views'],
    },
    limitations: ['Weights are random: scores carry no clinical meaning.'],
    input,
    outputs,
    labels,
    explanation,
    lineage: { recipe: `radiolens testing ${architecture} seed ${options.seed ?? 'default'}` },
    validation: [],
    files: {},
  };
  manifest = options.edit?.(manifest) ?? manifest;
  manifest.files = Object.fromEntries(
    Object.entries(files).map(([name, data]) => [name, sha256(data)]),
  );
  await mkdir(dir, { recursive: true });
  for (const [name, data] of Object.entries(files)) {
    await mkdir(join(dir, name, '..'), { recursive: true });
    await writeFile(join(dir, name), data);
  }
  await writeFile(join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return loadModelPackage(dir);
}
