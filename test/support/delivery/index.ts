/** Test support for delivery: a validating FHIR endpoint and a relay that can be taken down. */
export { FhirTestServer } from './fhirTestServer.js';
export { SwitchableRelay } from './switchableRelay.js';
