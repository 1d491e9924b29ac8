/**
 * dcmjs-dimse's log, off. We log our own structured events (node/log.ts); its lines would
 * carry AE titles, UIDs and whole datasets. Silencing its logger does not stop it from
 * building each association's log text first (`association.toString()` lists every proposed
 * presentation context and looks up each UID's name): with storescu's 120-odd contexts that
 * cost 6 ms of CPU per association, twice what storing a radiograph costs. With its log
 * silent nothing reads that text, so it is made cheap here (ADR 0117).
 */
import dcmjsDimse from 'dcmjs-dimse';

const { log, association } = dcmjsDimse;

let silenced = false;

export function silenceDimseLog(): void {
  log.setLevel('silent');
  if (silenced) return;
  silenced = true;
  association.Association.prototype.toString = function (this: dcmjsDimse.association.Association) {
    return `association ${this.getCallingAeTitle()} -> ${this.getCalledAeTitle()}`;
  };
}
