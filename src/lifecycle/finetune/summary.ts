/** The human summary `radiolens finetune` prints: every number with its interval. */
import type { Interval, Proportion } from '../validation/index.js';
import type { FinetuneResult } from './finetune.js';

const f3 = (x: number): string => x.toFixed(3);
const ci = (i: Interval): string => `[${f3(i[0])}, ${f3(i[1])}]`;
const prop = (p: Proportion): string =>
  p.estimate === null
    ? `n/a (${p.note})`
    : `${f3(p.estimate)} ${ci(p.ci)} (${p.successes}/${p.total})`;
const pValue = (p: number): string => (p < 1e-4 ? p.toExponential(1) : p.toFixed(4));

export function formatFinetuneSummary(result: FinetuneResult): string {
  const { test, operatingPoint: op, counts, head } = result;
  const parentRef = `${result.parent.manifest.id}@${result.parent.manifest.version}`;
  const childRef = `${result.pkg.manifest.id}@${result.pkg.manifest.version}`;
  const split = (name: keyof typeof counts): string =>
    `${counts[name].images} images / ${counts[name].patients} patients / ${counts[name].positives} positive`;
  const chosen = head.candidates.find((c) => c.l2 === head.l2)!;
  return (
    [
      `${childRef}: head of ${parentRef} re-fitted for "${result.label}" on site ${result.dataset.id} (${result.dataset.version.slice(0, 19)}…)`,
      `  split by patient: train ${split('train')}; tuning ${split('tuning')}; test ${split('test')}`,
      `  head: L2 ${head.l2} (tuning AUC ${f3(chosen.tuningAuc)}, grid ${head.candidates.map((c) => c.l2).join(', ')}), class weights +${f3(head.classWeights.positive)} / -${f3(head.classWeights.negative)}, ${head.fit.iterations} Newton iterations`,
      `  verified: the new graph's scores equal sigmoid(pooled·w+b) within ${result.verification.maxScoreDifference.toExponential(1)} on ${result.verification.images} images`,
      `test split (${test.finetuned.positives} positive, ${test.finetuned.negatives} negative), AUC with DeLong 95% CI:`,
      `  parent     ${parentRef}  AUC ${f3(test.parent.auc)} ${ci(test.parent.ci)}`,
      `  fine-tuned ${childRef}  AUC ${f3(test.finetuned.auc)} ${ci(test.finetuned.ci)}`,
      `  difference ${test.comparison.difference >= 0 ? '+' : ''}${f3(test.comparison.difference)} ${ci(test.comparison.ci)}, DeLong z ${test.comparison.z.toFixed(2)}, p ${pValue(test.comparison.p)}`,
      `operating threshold ${op.threshold.toPrecision(4)} (target sensitivity ${'sensitivity' in op.target ? op.target.sensitivity : '-'} on tuning: reached ${prop(op.tuning.sensitivity)})`,
      `  on test: sensitivity ${prop(op.test.sensitivity)}, specificity ${prop(op.test.specificity)} (Wilson 95% CI)`,
      `  parent at its threshold ${result.parentOperatingPoint.threshold}: sensitivity ${prop(result.parentOperatingPoint.sensitivity)}, specificity ${prop(result.parentOperatingPoint.specificity)}`,
      `registered ${result.pkg.dir}`,
      `reproduce: radiolens validate --model ${childRef} --labels ${result.files.testLabels} --out <dir>`,
      `           radiolens validate --model ${parentRef} --labels ${result.files.testLabels} --out <dir>`,
      `report: ${result.files.report}${result.files.run ? `\nrun:    ${result.run!.id} (${result.files.run})` : ''}`,
    ].join('\n') + '\n'
  );
}
