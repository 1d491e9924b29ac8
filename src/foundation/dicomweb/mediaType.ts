/**
 * Content-Type header parsing (RFC 2045 §5.1 / RFC 9110 §8.3.1): `type/subtype` followed by
 * `; name=value` parameters whose values are tokens or quoted strings with backslash escapes.
 * DICOMweb depends on the parameters (`type=` and `boundary=` of multipart/related), so they
 * are parsed properly rather than with a regular expression that breaks on quoted `;`.
 */
import { RadiolensError } from '../core/index.js';

export interface MediaType {
  /** `type/subtype`, lower-case. */
  readonly mediaType: string;
  /** Parameter names lower-case; values as sent (unquoted, escapes resolved). */
  readonly parameters: Readonly<Record<string, string>>;
}

// RFC 2045 tspecials plus space and controls end a token.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+/;

export function parseMediaType(header: string): MediaType {
  const bad = (why: string): RadiolensError =>
    new RadiolensError(
      'E_BAD_INPUT',
      `Content-Type "${header.slice(0, 200)}" is not a valid media type: ${why} — send e.g. multipart/related; type="application/dicom"; boundary=...`,
    );
  let rest = header.trim();
  const typeMatch = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+)\/([!#$%&'*+\-.^_`|~0-9A-Za-z]+)/.exec(rest);
  if (typeMatch === null) throw bad('no type/subtype');
  const mediaType = `${typeMatch[1]}/${typeMatch[2]}`.toLowerCase();
  rest = rest.slice(typeMatch[0].length);
  const parameters = new Map<string, string>();
  for (;;) {
    rest = rest.replace(/^[ \t]+/, '');
    if (rest === '') break;
    if (rest[0] !== ';') throw bad(`unexpected "${rest.slice(0, 20)}"`);
    rest = rest.slice(1).replace(/^[ \t]+/, '');
    if (rest === '') break; // a trailing ';' is common and harmless
    const name = TOKEN.exec(rest);
    if (name === null) throw bad(`parameter name expected at "${rest.slice(0, 20)}"`);
    rest = rest.slice(name[0].length).replace(/^[ \t]+/, '');
    if (rest[0] !== '=') throw bad(`parameter ${name[0]} has no value`);
    rest = rest.slice(1).replace(/^[ \t]+/, '');
    let value: string;
    if (rest[0] === '"') {
      let i = 1;
      value = '';
      for (; i < rest.length && rest[i] !== '"'; i += 1) {
        if (rest[i] === '\\' && i + 1 < rest.length) i += 1;
        value += rest[i];
      }
      if (i >= rest.length) throw bad(`unterminated quoted value of ${name[0]}`);
      rest = rest.slice(i + 1);
    } else {
      const token = TOKEN.exec(rest);
      if (token === null) throw bad(`parameter ${name[0]} has no value`);
      value = token[0];
      rest = rest.slice(token[0].length);
    }
    const key = name[0].toLowerCase();
    // The first occurrence wins; a repeated parameter is ambiguous and the first is what
    // most servers use.
    if (!parameters.has(key)) parameters.set(key, value);
  }
  return { mediaType, parameters: Object.fromEntries(parameters) };
}

/** A parameter value as a token when it is one, else as a quoted string. */
export function formatParameterValue(value: string): string {
  if (/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(value)) return value;
  return `"${value.replace(/(["\\])/g, '\\$1')}"`;
}
