/**
 * Headers set on every response of the node's HTTP port (ADR 0175). For JSON and DICOM the
 * content security policy allows nothing to run or load (the OHIF Viewer's routes replace
 * these with viewerSecurityHeaders, below; the reading room's pages set their own self-only
 * policy, ADR 0191),
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

/**
 * The OHIF Viewer's pages and files (ADR 0195) need what the rest of the node refuses: its own
 * scripts (and the inline ones of its index.html, by hash), WebAssembly compilation for the
 * image codecs, workers (some from blob: URLs), inline styles (React), images from data: and
 * blob: URLs, XHR to the node's own DICOMweb. Still nothing from another origin, no plugins,
 * no forms. It may be framed by the node's own pages only (the reading room may embed it).
 * Cross-origin isolation (COOP + COEP require-corp) gives it SharedArrayBuffer, which
 * cornerstone's decoders and volume rendering use, as OHIF's own deployment headers ask.
 */
export function viewerSecurityHeaders(
  tls: boolean,
  inlineScriptHashes: readonly string[],
): Readonly<Record<string, string>> {
  const hashes = inlineScriptHashes.map((h) => ` 'sha256-${h}'`).join('');
  return {
    ...securityHeaders(tls),
    'content-security-policy': [
      "default-src 'self'",
      `script-src 'self' 'wasm-unsafe-eval'${hashes}`,
      "worker-src 'self' blob:",
      "style-src 'self' 'unsafe-inline'",
      "img-src 'self' data: blob:",
      "font-src 'self' data:",
      "connect-src 'self' data: blob:",
      "media-src 'self' blob:",
      "object-src 'none'",
      "frame-ancestors 'self'",
      "base-uri 'self'",
      "form-action 'none'",
    ].join('; '),
    'x-frame-options': 'SAMEORIGIN',
    'cross-origin-embedder-policy': 'require-corp',
  };
}
