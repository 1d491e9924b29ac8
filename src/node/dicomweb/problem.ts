/**
 * A DICOMweb request the node answers with an HTTP error status (400 bad query, 404 unknown
 * resource, 406 a representation it cannot give). The message says what to send instead.
 */
export class DicomWebProblem extends Error {
  constructor(
    readonly status: 400 | 404 | 406,
    message: string,
  ) {
    super(message);
    this.name = 'DicomWebProblem';
  }
}
