/**
 * One model version: labels and operating points, intended use, the card (its markdown shown
 * as text: the card is the packager's text, never trusted as HTML), lineage, validation
 * reports and the routes that use it.
 */
import type { ModelDetail } from '../shared/apiTypes.js';
import { estimateText } from '../shared/views.js';
import { api, byId, el, facts, showState, startPage } from './common.js';

const json = (value: unknown): string => JSON.stringify(value, null, 2);

startPage(async () => {
  const holder = byId('model');
  const id = holder.dataset['modelId'] ?? '';
  const version = holder.dataset['modelVersion'] ?? '';
  showState('loading', 'Loading the model…');
  const model = await api<ModelDetail>(
    `/api/models/${encodeURIComponent(id)}/${encodeURIComponent(version)}`,
  );
  showState('none');
  const labels = el('ul', {});
  for (const label of model.labels ?? []) {
    labels.append(
      el(
        'li',
        {},
        `${label.meaning ?? label.id} (${label.id})${typeof label.threshold === 'number' ? `, operating point ${label.threshold.toFixed(2)}` : ''}`,
      ),
    );
  }
  const lineage = model.lineage;
  const datasets = el('ul', {});
  for (const d of lineage?.datasets ?? []) {
    datasets.append(
      el(
        'li',
        {},
        `${d.name}${d.version === undefined ? '' : ` ${d.version}`}${d.sha256 === undefined ? '' : ` (sha256 ${d.sha256.slice(0, 12)}…)`}`,
      ),
    );
  }
  const reports = el('div', {});
  for (const report of model.validationReports ?? []) {
    reports.append(
      el('h3', {}, report.source),
      facts([
        ['Date', report.date ?? '—'],
        ['Images', String(report.images)],
        ['AUC', estimateText(report.auc)],
        ['Sensitivity', estimateText(report.sensitivity)],
        ['Specificity', estimateText(report.specificity)],
      ]),
    );
  }
  if ((model.validationReports ?? []).length === 0)
    reports.append(el('p', {}, 'No validation report for this version.'));
  const routes = el('ul', {});
  for (const route of model.routes ?? []) routes.append(el('li', {}, route));
  holder.replaceChildren(
    facts([
      ['Name', model.name ?? model.id],
      ['Manufacturer', model.manufacturer ?? '—'],
      ['Task', model.task ?? '—'],
      ['Active', model.active === true ? 'yes' : 'no'],
    ]),
    el('h2', {}, 'Findings and operating points'),
    labels,
    el('h2', {}, 'Intended use'),
    el(
      'pre',
      // Focusable: a scrolling block must be scrollable from the keyboard.
      { class: 'card', tabindex: '0', 'aria-label': 'Intended use' },
      model.intendedUse === null || model.intendedUse === undefined ? '—' : json(model.intendedUse),
    ),
    el('h2', {}, 'Model card'),
    model.card === null || model.card === undefined
      ? el('p', {}, 'This version ships no model card.')
      : el(
          'pre',
          { class: 'card', tabindex: '0', 'aria-label': 'Model card' },
          model.card.markdown,
        ),
    el('h2', {}, 'Lineage'),
    facts([
      ['Parent', lineage?.parent ?? '—'],
      [
        'Training run',
        lineage?.trainingRun === null || lineage?.trainingRun === undefined
          ? '—'
          : json(lineage.trainingRun),
      ],
    ]),
    el('p', {}, 'Datasets:'),
    (lineage?.datasets ?? []).length === 0 ? el('p', { class: 'note' }, 'none recorded') : datasets,
    el('h2', {}, 'Validation reports'),
    reports,
    el('h2', {}, 'Routes that use it'),
    (model.routes ?? []).length === 0
      ? el('p', { class: 'note' }, 'No route uses this version.')
      : routes,
  );
});
