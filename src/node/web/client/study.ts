/**
 * The study page: the OHIF viewer in a frame (its URL from the study context API; when the
 * viewer is not installed, the remedy instead) and beside it each analysis's findings with
 * their context and an answer form per finding. The time to answer runs from the moment the
 * page opened.
 */
import type { ContextAnalysis, ContextFinding, StudyContext } from '../shared/apiTypes.js';
import {
  caveatsFor,
  correctLabelChoices,
  feedbackDraft,
  findingLines,
  safeViewerUrl,
  siteValidationLines,
} from '../shared/views.js';
import { ApiProblem, api, byId, el, facts, showState, startPage } from './common.js';

const openedAt = performance.now();
let formCount = 0;

function viewer(context: StudyContext): Node {
  const url = safeViewerUrl(context.viewer.url);
  if (context.viewer.available && url !== null) {
    return el('iframe', {
      src: url,
      title: 'OHIF Viewer: the study with the AI findings',
      id: 'ohif',
    });
  }
  return el(
    'div',
    { class: 'remedy' },
    el('h2', {}, 'The viewer is not available'),
    el('p', {}, context.viewer.remedy ?? 'The OHIF viewer is not installed on this node.'),
  );
}

function answerForm(
  studyKey: string,
  analysis: ContextAnalysis,
  finding: ContextFinding,
): HTMLFormElement {
  const n = ++formCount;
  const id = (what: string): string => `a${n}-${what}`;
  const choice = (value: string, text: string): HTMLElement =>
    el(
      'span',
      {},
      el('input', { type: 'radio', name: 'answer', value, id: id(value), required: true }),
      ' ',
      el('label', { for: id(value) }, text),
    );
  const correct = el('select', { id: id('correct'), name: 'correctLabel', disabled: true });
  for (const [value, text] of correctLabelChoices(analysis, finding)) {
    correct.append(el('option', { value }, text));
  }
  const status = el('p', { class: 'note', role: 'status', id: id('status') });
  const form = el(
    'form',
    { class: 'answer', 'data-label': finding.label, 'aria-labelledby': id('legend') },
    el(
      'fieldset',
      {},
      el('legend', { id: id('legend') }, `Your answer: ${finding.meaning}`),
      el(
        'div',
        { class: 'choices' },
        choice('agree', 'Agree'),
        choice('disagree', 'Disagree'),
        choice('uncertain', 'Uncertain'),
      ),
      el(
        'div',
        {},
        el('label', { for: id('correct') }, 'If you disagree, the correct answer'),
        correct,
      ),
      el(
        'div',
        {},
        el('label', { for: id('comment') }, 'Comment (optional, no patient identifiers)'),
        el('textarea', { id: id('comment'), name: 'comment', rows: '2', maxlength: '2000' }),
      ),
      el('button', { type: 'submit' }, 'Record answer'),
      status,
    ),
  );
  form.addEventListener('change', () => {
    const answer = new FormData(form).get('answer');
    correct.disabled = answer !== 'disagree';
  });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const draft = feedbackDraft(
      studyKey,
      analysis,
      finding,
      {
        answer: String(data.get('answer') ?? ''),
        correctLabel: String(data.get('correctLabel') ?? ''),
        comment: String(data.get('comment') ?? ''),
      },
      performance.now() - openedAt,
    );
    if (!draft.ok) {
      status.textContent = draft.problem;
      return;
    }
    status.textContent = 'Recording…';
    void api<{ id: number | string }>('/api/feedback', { method: 'POST', body: draft.body }).then(
      () => {
        status.className = 'answered';
        status.textContent = `Recorded: ${String(draft.body['answer'])} (after ${Math.round(Number(draft.body['timeToAnswerMs']) / 1000)} s).`;
      },
      (error: unknown) => {
        status.className = 'state-error';
        status.textContent = `Not recorded — ${error instanceof ApiProblem ? error.message : String(error)}`;
      },
    );
  });
  return form;
}

function analysisPanel(studyKey: string, analysis: ContextAnalysis, index: number): HTMLElement {
  const title = `${analysis.model.name ?? analysis.model.id} ${analysis.model.version}`;
  const headingId = `analysis-${index}`;
  const section = el(
    'section',
    { class: 'analysis', 'aria-labelledby': headingId },
    el('h2', { id: headingId }, title),
    el(
      'p',
      { class: 'note' },
      `${analysis.model.id}@${analysis.model.version}, analysed ${analysis.performedAt?.replace('T', ' ').slice(0, 16) ?? '—'} UTC`,
    ),
  );
  const use = analysis.intendedUse;
  if (use !== null && use !== undefined) {
    section.append(el('h3', {}, 'Intended use'), el('p', {}, use.summary ?? '—'));
    if ((use.notFor ?? []).length > 0) {
      const list = el('ul', {});
      for (const item of use.notFor ?? []) list.append(el('li', {}, item));
      section.append(el('p', {}, 'Not for:'), list);
    }
  }
  section.append(
    el('h3', {}, 'Validated on this site'),
    facts(siteValidationLines(analysis.siteValidation)),
  );
  const answered = new Map((analysis.answers ?? []).map((a) => [a.label, a]));
  for (const finding of analysis.findings) {
    const box = el(
      'div',
      { class: 'finding', 'data-label': finding.label },
      el('h3', {}, finding.meaning),
      facts(findingLines(analysis, finding)),
    );
    const caveats = caveatsFor(analysis, finding.sopInstanceUid);
    if (caveats.length > 0) {
      const list = el('ul', { class: 'caveats', 'aria-label': 'Caveats' });
      for (const text of caveats) list.append(el('li', {}, text));
      box.append(el('p', {}, 'Caveats:'), list);
    }
    const previous = answered.get(finding.label);
    if (previous !== undefined) {
      box.append(
        el(
          'p',
          { class: 'answered' },
          `Answered: ${previous.answer} (${previous.answeredAt.replace('T', ' ').slice(0, 16)} UTC)`,
        ),
      );
    }
    box.append(answerForm(studyKey, analysis, finding));
    section.append(box);
  }
  if (analysis.findings.length === 0)
    section.append(el('p', {}, 'This analysis reported no findings.'));
  return section;
}

startPage(async () => {
  const holder = document.querySelector<HTMLElement>('[data-study-key]');
  const studyKey = holder?.dataset['studyKey'] ?? '';
  showState('loading', 'Loading the study…');
  let context: StudyContext;
  try {
    context = await api<StudyContext>(`/api/studies/${encodeURIComponent(studyKey)}/context`);
  } catch (error) {
    showState(
      'error',
      error instanceof ApiProblem && error.status === 404
        ? 'No study with this key on this node (it may have been removed). Go back to the worklist.'
        : `The study cannot be shown: ${error instanceof Error ? error.message : String(error)}`,
    );
    return;
  }
  showState('none');
  byId('viewer').replaceChildren(viewer(context));
  const panel = byId('context');
  panel.replaceChildren();
  context.analyses.forEach((analysis, i) => panel.append(analysisPanel(studyKey, analysis, i)));
  if (context.analyses.length === 0) panel.append(el('p', {}, 'No analysis of this study yet.'));
});
