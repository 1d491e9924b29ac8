/**
 * The parsing limits (issue #16, problems 2 and 6) against crafted files: a deflate bomb and
 * 100,000 nested sequences, both ways of encoding their lengths, through every entry of the
 * one reading path (parseDicom, readInstanceIdentity, the fast header reader).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  EXPLICIT_VR_LITTLE_ENDIAN,
  deflateBomb,
  deflatedPart10,
  element,
  identifyingAttributes,
  imageAttributes,
  nestedSequences,
  part10,
} from '../../../test/support/craftedDicom.js';
import { RadiolensError } from '../core/index.js';
import {
  configureParsingLimits,
  DEFAULT_PARSING_LIMITS,
  parseDicom,
  readHeaderLittleEndian,
  readInstanceIdentity,
} from './index.js';

const limitExceeded = (error: unknown): boolean =>
  error instanceof RadiolensError && error.code === 'E_LIMIT_EXCEEDED';

function nestedFile(depth: number, definedLength: boolean, deflated = false): Buffer {
  const dataset = Buffer.concat([
    identifyingAttributes('1.2.3.4.5.6'),
    nestedSequences(depth, definedLength, element(0x0040a160, 'UT', 'leaf')),
  ]);
  return deflated
    ? deflatedPart10('1.2.3.4.5.6', dataset)
    : part10(EXPLICIT_VR_LITTLE_ENDIAN, '1.2.3.4.5.6', dataset);
}

for (const definedLength of [false, true]) {
  const kind = definedLength ? 'defined' : 'undefined';
  test(`100,000 nested sequences of ${kind} length: E_LIMIT_EXCEEDED from every reader, no stack overflow`, () => {
    const file = nestedFile(100_000, definedLength);
    assert.throws(() => parseDicom(file, 'deep.dcm'), limitExceeded);
    assert.throws(() => readInstanceIdentity(file, 'deep.dcm'), limitExceeded);
    assert.throws(() => readHeaderLittleEndian(file), limitExceeded);
  });

  test(`nesting at the limit (${kind} length) is read; one more level is refused`, () => {
    const depth = DEFAULT_PARSING_LIMITS.maxSequenceDepth;
    const ok = parseDicom(nestedFile(depth, definedLength), 'ok.dcm');
    assert.equal(ok.sopInstanceUid, '1.2.3.4.5.6');
    assert.ok(readHeaderLittleEndian(nestedFile(depth, definedLength)) !== undefined);
    assert.throws(() => parseDicom(nestedFile(depth + 1, definedLength), 'x.dcm'), limitExceeded);
    assert.throws(
      () => readHeaderLittleEndian(nestedFile(depth + 1, definedLength)),
      limitExceeded,
    );
  });
}

test('deep nesting inside a deflated dataset is refused too', () => {
  assert.throws(() => parseDicom(nestedFile(10_000, false, true), 'deep.dcm'), limitExceeded);
});

test('a 2 GiB deflate bomb (about 2 MB) is refused without inflating it', () => {
  const bomb = deflateBomb('1.2.3.4.5.7', 2048);
  assert.ok(bomb.byteLength < 4 * 1024 * 1024, `the bomb is ${bomb.byteLength} bytes`);
  const before = process.memoryUsage().rss;
  assert.throws(() => parseDicom(bomb, 'bomb.dcm'), limitExceeded);
  assert.throws(() => readInstanceIdentity(bomb, 'bomb.dcm'), limitExceeded);
  assert.throws(() => readHeaderLittleEndian(bomb), limitExceeded);
  // A memory bound, not a time: the limit is 64 MiB beyond a 256-byte image.
  const grown = process.memoryUsage().rss - before;
  assert.ok(grown < 768 * 1024 * 1024, `reading grew the process by ${grown} bytes`);
});

test('a deflated image larger than the allowance reads when its declared size covers it', () => {
  const previous = configureParsingLimits({ inflateAllowanceBytes: 1024 * 1024 });
  try {
    const pixels = Buffer.alloc(1024 * 1024 * 2, 7); // 1024 × 1024 × 16 bits = 2 MiB
    const dataset = Buffer.concat([
      identifyingAttributes('1.2.3.4.5.8'),
      // An undefined-length sequence before group 0028, as real images have.
      nestedSequences(2, false, element(0x00081150, 'UI', '1.2.3'), 0x00211140),
      imageAttributes(1024, 1024, 16),
      element(0x7fe00010, 'OW', pixels),
    ]);
    const image = parseDicom(deflatedPart10('1.2.3.4.5.8', dataset), 'big.dcm');
    assert.equal(image.dataset['Rows'], 1024);
    assert.equal(image.hasPixelData, true);
    // The same header with 4 MiB more than it declares is over the limit.
    const padded = Buffer.concat([
      dataset,
      element(0xfffcfffc, 'OB', Buffer.alloc(4 * 1024 * 1024)),
    ]);
    assert.throws(
      () => parseDicom(deflatedPart10('1.2.3.4.5.8', padded), 'padded.dcm'),
      limitExceeded,
    );
    assert.equal(previous.inflateAllowanceBytes, 1024 * 1024);
  } finally {
    configureParsingLimits({});
  }
});

test('configureParsingLimits refuses a limit that is not a positive whole number', () => {
  assert.throws(() => configureParsingLimits({ maxSequenceDepth: 0 }), /E_BAD_INPUT/);
  assert.throws(() => configureParsingLimits({ maxInflatedBytes: 1.5 }), /E_BAD_INPUT/);
  assert.deepEqual(configureParsingLimits({}), DEFAULT_PARSING_LIMITS);
});
