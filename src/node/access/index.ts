/**
 * Who may do what on the node's HTTP port (issue #13 Deliver 6–7; ADRs 0174–0176): local
 * users with roles and scrypt-hashed passwords, server-side sessions with CSRF tokens, login
 * rate limiting, security headers, the access decision per route, and the audit trail.
 */
export { ROLES, isRole, USER_NAME, type Role } from './roles.js';
export {
  hashPassword,
  verifyPassword,
  passwordProblem,
  SCRYPT_DEFAULTS,
  MIN_PASSWORD_LENGTH,
  MAX_PASSWORD_LENGTH,
  type ScryptParameters,
} from './password.js';
export {
  UserStore,
  ensureAccessSchema,
  checkNewUser,
  userExists,
  noSuchUser,
  type UserRecord,
} from './userStore.js';
export { sqliteUserPort, type UserPort } from './userPort.js';
export { sqliteSessionPort, type SessionPort } from './sessionPort.js';
export {
  SessionStore,
  SESSION_DEFAULTS,
  SESSION_ID,
  LAST_SEEN_WRITE_MS,
  sessionKey,
  newSessionSecrets,
  slidExpiry,
  csrfTokenMatches,
  isStateChanging,
  type Session,
  type NewSession,
  type SessionLimits,
} from './sessions.js';
export {
  LoginThrottle,
  LOGIN_THROTTLE_DEFAULTS,
  windowWaitMs,
  throttleDecision,
  type LoginThrottleLimits,
  type ThrottleDecision,
} from './loginThrottle.js';
export {
  memoryLoginThrottle,
  type LoginThrottlePort,
  type LoginAdmission,
  type LoginAttempt,
} from './loginThrottlePort.js';
export { securityHeaders, viewerSecurityHeaders } from './securityHeaders.js';
export {
  decideAccess,
  describeAccess,
  rememberPrincipal,
  principalOf,
  actorOf,
  type Principal,
  type RouteAccess,
  type AccessDecision,
} from './principal.js';
export { AuditTrail, StudyKeys, auditLogPath } from './auditTrail.js';
export {
  createLoginRoutes,
  loginRequestSchema,
  sessionCookie,
  SESSION_COOKIE,
  type LoginRoutes,
  type LoginRouteOptions,
} from './loginRoutes.js';
export { createAuditReadRoutes } from './auditRoutes.js';
