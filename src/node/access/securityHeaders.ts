/**
 * Headers set on every response of the node's HTTP port (ADR 0175). The node serves JSON and
 * DICOM, no pages of its own yet: the content security policy allows nothing to run or load,
 * frames are refused, MIME types are not sniffed, no referrer leaves, responses are not
 * cached (they may carry patient data). HSTS only over TLS (it is ignored over plain HTTP and
 * would pin a name the operator may not have meant).
 */
export function securityHeaders(tls: boolean): Readonly<Record<string, string>> {
  return {
    'content-security-policy':
      "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin',
    'permissions-policy': 'camera=(), microphone=(), geolocation=()',
    'cache-control': 'no-store',
    ...(tls ? { 'strict-transport-security': 'max-age=31536000' } : {}),
  };
}
