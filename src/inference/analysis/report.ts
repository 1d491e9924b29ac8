import type { AnalysisRun } from './types.js';

/**
 * The short human summary printed on the terminal: per study, the model, each finding with
 * its probability and operating point, what was not analysed and why, and where the outputs
 * are. It always reminds the reader that this is a second reader's output.
 */
export function formatRunReport(run: AnalysisRun): string {
  const lines: string[] = [];
  for (const study of run.studies) {
    lines.push(`Study ${study.studyInstanceUid}`);
    if (study.model) lines.push(`  model      ${study.model.id}@${study.model.version}`);
    if (study.problem) lines.push(`  not analysed: ${study.problem}`);
    for (const warning of study.warnings) lines.push(`  caveat: ${warning}`);
    const record = study.record;
    if (record) {
      for (const finding of record.findings) {
        const verdict = finding.present ? 'PRESENT' : 'absent ';
        lines.push(
          `  ${verdict}  ${finding.finding.meaning} p=${finding.probability.toFixed(3)} ` +
            `(threshold ${finding.threshold.toFixed(3)}) image ${finding.image.sopInstanceUid}`,
        );
      }
      for (const skipped of record.notAnalysed) {
        lines.push(`  not analysed: image ${skipped.image.sopInstanceUid}: ${skipped.reason}`);
      }
    }
    if (study.outputs.sr) lines.push(`  SR         ${study.outputs.sr}`);
    for (const sc of study.outputs.sc) lines.push(`  SC         ${sc}`);
    if (study.outputs.fhir) lines.push(`  FHIR       ${study.outputs.fhir}`);
    lines.push(`  summary    ${study.outputs.summary}`);
  }
  for (const problem of run.problems) lines.push(`skipped ${problem.file}: ${problem.error}`);
  lines.push(
    `${run.files} file(s), ${run.studies.length} study(ies), ${run.imagesAnalysed} image(s) analysed, ` +
      `${run.problems.length} problem(s).`,
  );
  lines.push('AI output for review by a radiologist: a second reader, not a diagnosis.');
  return `${lines.join('\n')}\n`;
}
