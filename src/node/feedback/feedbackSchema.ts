/**
 * What a client sends to record an answer (POST /api/feedback), parsed once at the edge with
 * zod: anything else is a 400 that names the field. No patient identifiers: the study is
 * named by a non-PHI key and instances by their UIDs.
 */
import { z } from 'zod';

const uid = z
  .string()
  .regex(/^[0-9]+(\.[0-9]+)*$/, 'a DICOM UID: digits and dots')
  .max(64);
const text = (max: number) => z.string().trim().min(1).max(max);

export const feedbackAnswerSchema = z
  .object({
    /** The study by a non-PHI key (the worklist's, e.g. a keyed hash); never an accession. */
    studyKey: z
      .string()
      .regex(/^[A-Za-z0-9_-]{8,128}$/, 'a non-PHI key: 8–128 letters, digits, - or _'),
    /** The SR that carried the finding. */
    srSopInstanceUid: uid,
    /** The image the finding is about (the SR's source image). */
    sourceSopInstanceUid: uid,
    finding: z
      .object({
        code: text(64),
        scheme: text(16),
        meaning: text(128),
        /** The model's label id for the finding (the column name `radiolens validate` uses). */
        labelId: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'a model label id'),
      })
      .strict(),
    model: z.object({ id: text(128), version: text(64) }).strict(),
    /** What the AI said: at or above its operating point ('positive') or below. */
    aiCall: z.enum(['positive', 'negative']),
    /** The AI's probability for the finding, when the client shows it. */
    probability: z.number().min(0).max(1).optional(),
    answer: z.enum(['agree', 'disagree', 'uncertain']),
    /** With 'disagree': the correct answer — another label id, or 'none' for no finding. */
    correctLabel: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'a label id or none')
      .optional(),
    comment: z.string().max(2000).optional(),
    /** From opening the finding to answering, measured by the client. */
    timeToAnswerMs: z
      .number()
      .int()
      .min(0)
      .max(24 * 3600 * 1000),
  })
  .strict()
  .superRefine((value, context) => {
    if (value.answer === 'disagree' && value.correctLabel === undefined) {
      context.addIssue({
        code: 'custom',
        path: ['correctLabel'],
        message: 'a disagreement needs the correct answer (a label id, or none)',
      });
    }
    if (value.answer !== 'disagree' && value.correctLabel !== undefined) {
      context.addIssue({
        code: 'custom',
        path: ['correctLabel'],
        message: 'only a disagreement carries a correct answer',
      });
    }
  });

export type FeedbackAnswer = z.infer<typeof feedbackAnswerSchema>;
