/**
 * The reading room's roles (issue #13 Deliver 6, ADR 0174). Least privilege: reading patient
 * images is the radiologist's; the administrator manages users and configuration, not
 * images; the data scientist reads the answers that become validation data; the auditor
 * reads the audit log.
 */
export const ROLES = ['radiologist', 'administrator', 'data-scientist', 'auditor'] as const;
export type Role = (typeof ROLES)[number];

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

/** A user name: lower-case letters, digits, '.', '_' or '-', starting with a letter. */
export const USER_NAME = /^[a-z][a-z0-9._-]{1,63}$/;
