/** A valid answer for the feedback API, with overrides. Test support. */
import type { FeedbackAnswer } from '../../src/node/feedback/index.js';

export function feedbackAnswer(overrides: Partial<FeedbackAnswer> = {}): FeedbackAnswer {
  return {
    studyKey: 'study-key-0001',
    srSopInstanceUid: '1.2.826.0.1.3680043.10.1.1',
    sourceSopInstanceUid: '1.2.826.0.1.3680043.10.1.2',
    finding: { code: '233604007', scheme: 'SCT', meaning: 'Pneumonia', labelId: 'pneumonia' },
    model: { id: 'cxr-pneumonia', version: '1.0.0' },
    aiCall: 'positive',
    probability: 0.83,
    answer: 'agree',
    timeToAnswerMs: 4200,
    ...overrides,
  };
}
