/**
 * Routing: which model(s) analyse a stable study (ADR 0111). Rules are tried in order and
 * the FIRST rule that matches decides (like a firewall: put exceptions before the general
 * case); a rule may name several models, or none to exclude what it matches. A rule matches when every criterion it names is
 * met, and a criterion is met when at least one instance of the study has one of the listed
 * values (a study mixes series: a chest PA and a lateral, an SR from the modality…).
 * No rule matching → the default models (`--model`); no rules and no default → the
 * installed model whose intended use fits (`AUTO_MODEL`); rules but nothing matching and no
 * default → not routed. A rule (or the default route, `--shadow`) may also name shadow models
 * (ADR 0088): they analyse the study as well, and their results are kept, never delivered.
 */
import type { InstanceRecord } from '../store/index.js';
import type { RouteRule } from './config.js';

/** Job model meaning "let the analysis pick the installed model whose intended use fits". */
export const AUTO_MODEL = 'auto';

/** The values routing looks at, gathered over a study's instances. */
export interface StudyFacts {
  readonly modality: ReadonlySet<string>;
  readonly bodyPartExamined: ReadonlySet<string>;
  readonly viewPosition: ReadonlySet<string>;
  readonly sopClassUid: ReadonlySet<string>;
  readonly callingAeTitle: ReadonlySet<string>;
}

export type RouteDecision =
  | {
      readonly kind: 'models';
      readonly models: readonly string[];
      /** Shadow models (id@version): results kept in the node, never delivered. */
      readonly shadow: readonly string[];
      readonly rule: number | 'default';
    }
  | { readonly kind: 'auto'; readonly shadow: readonly string[] }
  | { readonly kind: 'not-routed'; readonly reason: string };

/** Code String values compare case-insensitively (PS3.5 6.2: CS is upper case by rule). */
const normalise = (value: string): string => value.trim().toUpperCase();

export function studyFacts(instances: readonly InstanceRecord[]): StudyFacts {
  const collect = (pick: (r: InstanceRecord) => string): Set<string> =>
    new Set(
      instances
        .map(pick)
        .filter((v) => v !== '')
        .map(normalise),
    );
  return {
    modality: collect((r) => r.modality),
    bodyPartExamined: collect((r) => r.bodyPartExamined),
    viewPosition: collect((r) => r.viewPosition),
    sopClassUid: collect((r) => r.sopClassUid),
    callingAeTitle: collect((r) => r.callingAeTitle),
  };
}

export function ruleMatches(rule: RouteRule, facts: StudyFacts): boolean {
  for (const [field, wanted] of Object.entries(rule.match) as [
    keyof StudyFacts,
    string | string[] | undefined,
  ][]) {
    if (wanted === undefined) continue;
    const accepted = (Array.isArray(wanted) ? wanted : [wanted]).map(normalise);
    if (!accepted.some((value) => facts[field].has(value))) return false;
  }
  return true;
}

export function routeStudy(
  facts: StudyFacts,
  rules: readonly RouteRule[],
  defaultModels: readonly string[],
  defaultShadow: readonly string[] = [],
): RouteDecision {
  const index = rules.findIndex((rule) => ruleMatches(rule, facts));
  if (index >= 0) {
    const models = [...new Set(rules[index]!.models)];
    // A model both live and in shadow runs live: shadow is for versions not yet active.
    const shadow = [...new Set(rules[index]!.shadow ?? [])].filter((m) => !models.includes(m));
    if (models.length === 0 && shadow.length === 0) {
      return { kind: 'not-routed', reason: `routing rule ${index} excludes it (no models)` };
    }
    return { kind: 'models', models, shadow, rule: index };
  }
  const shadow = [...new Set(defaultShadow)].filter((m) => !defaultModels.includes(m));
  if (defaultModels.length > 0) {
    return { kind: 'models', models: [...new Set(defaultModels)], shadow, rule: 'default' };
  }
  if (rules.length === 0) return { kind: 'auto', shadow };
  const seen = (name: keyof StudyFacts): string => [...facts[name]].join('/') || 'none';
  return {
    kind: 'not-routed',
    reason:
      `no routing rule matches (modality ${seen('modality')}, body part ${seen('bodyPartExamined')}, ` +
      `view ${seen('viewPosition')}) and no default --model is set`,
  };
}

/** A rule's criteria in words: "modality CR/DX, body part CHEST"; "every study" when none. */
function describeMatch(rule: RouteRule): string {
  const names: Record<string, string> = {
    modality: 'modality',
    bodyPartExamined: 'body part',
    viewPosition: 'view',
    sopClassUid: 'SOP class',
    callingAeTitle: 'calling AE',
  };
  const parts = Object.entries(rule.match)
    .filter(([, wanted]) => wanted !== undefined)
    .map(([field, wanted]) => `${names[field] ?? field} ${[wanted].flat().join('/')}`);
  return parts.length === 0 ? 'every study' : parts.join(', ');
}

/**
 * The routes of a configuration that run a model version, in words for the models page
 * (ADR 0196): a rule or the default route naming `id` runs its active version live, one naming
 * `id@version` that version; shadow entries name their exact version. With no rules and no
 * default, the active version of every installed model may be chosen by its intended use.
 */
export function routesUsingModel(
  rules: readonly RouteRule[],
  defaultModels: readonly string[],
  defaultShadow: readonly string[],
  model: { readonly id: string; readonly version: string; readonly active: boolean },
): string[] {
  const runs = (ref: string): boolean =>
    ref === `${model.id}@${model.version}` || (ref === model.id && model.active);
  const routes: string[] = [];
  rules.forEach((rule, index) => {
    const where = `rule ${index} (${describeMatch(rule)})`;
    if (rule.models.some(runs)) routes.push(`${where}: live`);
    if ((rule.shadow ?? []).some(runs)) routes.push(`${where}: shadow`);
  });
  if (defaultModels.some(runs)) routes.push('default route: live');
  if (defaultShadow.some(runs)) routes.push('default route: shadow');
  if (rules.length === 0 && defaultModels.length === 0 && model.active) {
    routes.push('automatic: the installed model whose intended use fits the study');
  }
  return routes;
}
