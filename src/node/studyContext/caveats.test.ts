import assert from 'node:assert/strict';
import { test } from 'node:test';
import { caveatsOf } from './caveats.js';

test("analysis.json's caveats are taken as written; the site may demote more codes", () => {
  assert.deepEqual(
    caveatsOf(
      { caveats: [{ code: 'missing-body-part', image: null, text: 't', demotes: false }] },
      new Set(['missing-body-part']),
    ).map((c) => c.demotes),
    [true],
  );
  assert.deepEqual(
    caveatsOf({
      caveats: [
        { code: 'missing-view-position', image: '1.2.3', text: 'no ViewPosition', demotes: false },
        { code: 'out-of-distribution', image: null, text: 'outside', demotes: true },
        { code: 42 },
      ],
      warnings: ['ignored when caveats exist'],
    }),
    [
      { code: 'missing-view-position', image: '1.2.3', text: 'no ViewPosition', demotes: false },
      { code: 'out-of-distribution', image: null, text: 'outside', demotes: true },
    ],
  );
});

test("without caveats, warnings become caveats coded by what they say; an image's demotes, as on the worklist", () => {
  assert.deepEqual(
    caveatsOf({
      warnings: [
        'image 1.2.3: the image has no ViewPosition; the model expects PA or AP',
        'image 1.2.3: out-of-distribution: features far from the training images',
        'image 1.2.4: BodyPartExamined is missing',
        'the lung field could not be placed',
        'something else',
      ],
    }).map((c) => [c.code, c.image, c.demotes]),
    [
      ['missing-view-position', '1.2.3', true],
      ['out-of-distribution', '1.2.3', true],
      ['missing-body-part', '1.2.4', true],
      ['lungs-not-placed', null, false],
      ['unclassified', null, false],
    ],
  );
  assert.deepEqual(caveatsOf({}), []);
});
