/**
 * OHIF's published build assumes it is served at the root of its origin: index.html sets
 * `window.PUBLIC_URL="/"` and names its files `/app.bundle….js`, webpack's public path is
 * compiled in as `__webpack_require__.p = "/"` (the chunks, workers and wasm are loaded
 * from it), and the stylesheet's fonts are `url(/….woff2)`. The node serves the app under a
 * path (`/ohif/`), so those few strings are rewritten as the files are served — the files on
 * disk stay byte-for-byte the checked tarball's (ADR 0195). Rebuilding OHIF with another
 * PUBLIC_URL would need its whole monorepo.
 */

/** index.html with the app's root moved to `base` (ending in '/'). */
export function rebaseIndexHtml(html: string, base: string): string {
  return html
    .replaceAll('window.PUBLIC_URL="/"', `window.PUBLIC_URL=${JSON.stringify(base)}`)
    .replace(/(\s(?:href|src)=")\/(?!\/)/g, `$1${base}`);
}

/** A script: webpack's compiled-in public path moved to `base`; undefined when it has none. */
export function rebaseScript(js: string, base: string): string | undefined {
  const from = '__webpack_require__.p = "/";';
  return js.includes(from)
    ? js.replaceAll(from, `__webpack_require__.p = ${JSON.stringify(base)};`)
    : undefined;
}

/** A stylesheet: root-relative `url(/…)` moved to `base`; undefined when it has none. */
export function rebaseStylesheet(css: string, base: string): string | undefined {
  return /url\(\/(?!\/)/.test(css) ? css.replace(/url\(\/(?!\/)/g, `url(${base}`) : undefined;
}

/** The inline `<script>` bodies of a page, for the CSP's hashes. */
export function inlineScripts(html: string): string[] {
  return [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]!);
}
