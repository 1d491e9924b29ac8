/** DICOM DA/TM/DT from a Date, in UTC, so output does not depend on the host's time zone. */
export function dicomDate(at: Date): string {
  return at.toISOString().slice(0, 10).replace(/-/g, '');
}

export function dicomTime(at: Date): string {
  return at.toISOString().slice(11, 19).replace(/:/g, '');
}

export function dicomDateTime(at: Date): string {
  return `${dicomDate(at)}${dicomTime(at)}+0000`;
}

/** Timezone Offset From UTC (0008,0201) matching the UTC times above. */
export const UTC_OFFSET = '+0000';
