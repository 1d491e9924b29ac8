/** The models page: every installed model version, whether it is active, its routes. */
import type { ModelSummary } from '../shared/apiTypes.js';
import { api, byId, el, showState, startPage } from './common.js';

startPage(async () => {
  showState('loading', 'Loading the models…');
  const answer = await api<{ models: readonly ModelSummary[] }>('/api/models');
  const table = byId<HTMLTableElement>('models');
  const body = table.tBodies[0]!;
  body.replaceChildren();
  if (answer.models.length === 0) {
    showState('empty', 'No model is installed on this node.');
    return;
  }
  showState('none');
  table.hidden = false;
  for (const model of answer.models) {
    const href = `/models/${encodeURIComponent(model.id)}/${encodeURIComponent(model.version)}`;
    body.append(
      el(
        'tr',
        {},
        el(
          'td',
          {},
          el('a', { href }, model.name ?? model.id),
          el('div', { class: 'note' }, model.id),
        ),
        el('td', {}, model.version),
        el('td', {}, model.task ?? '—'),
        el('td', {}, model.active === true ? 'yes' : 'no'),
        el('td', {}, (model.routes ?? []).join('; ') || '—'),
      ),
    );
  }
});
