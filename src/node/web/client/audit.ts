/**
 * The audit page (auditor): whether the hash chain is intact, and the latest records, newest
 * first. Reading it is itself recorded (the API's route is audited before serving).
 */
import type { AuditAnswer } from '../shared/apiTypes.js';
import { api, byId, el, showState, startPage } from './common.js';

startPage(async () => {
  showState('loading', 'Loading the audit log…');
  const answer = await api<AuditAnswer>('/api/audit?limit=200');
  const verification = answer.verification;
  byId('chain').textContent = verification.ok
    ? `The chain is intact (${String(verification['entries'])} records).`
    : `The chain is BROKEN at line ${String(verification['line'])}: ${String(verification['problem'])}`;
  byId('chain').className = verification.ok ? 'note' : 'state-error';
  const table = byId<HTMLTableElement>('audit');
  const body = table.tBodies[0]!;
  body.replaceChildren();
  showState('none');
  table.hidden = false;
  for (const entry of [...answer.entries].reverse()) {
    body.append(
      el(
        'tr',
        { 'data-action': entry.action },
        el('td', {}, String(entry.seq)),
        el('td', {}, entry.at.replace('T', ' ').slice(0, 19)),
        el('td', {}, entry.actor),
        el('td', {}, entry.action),
        el('td', {}, entry.subject),
        el('td', {}, JSON.stringify(entry.details)),
      ),
    );
  }
});
