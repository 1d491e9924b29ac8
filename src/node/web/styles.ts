/**
 * The reading room's one stylesheet, served as /assets/app.css. Kept as a module (not a .css
 * file) so that the TypeScript build puts it in dist/ with the server code. Colours meet WCAG
 * AA contrast on their backgrounds (axe checks them in the browser test); focus is always
 * visible, because the worklist is used from the keyboard.
 */
export const APP_CSS = `
:root { --fg: #1b1b1f; --muted: #4a4f57; --bg: #ffffff; --panel: #f3f5f8; --line: #c9ced6;
  --link: #0b57d0; --urgent: #a50e0e; --focus: #1a4fb4; --ok: #146c2e; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: var(--fg); background: var(--bg); }
a { color: var(--link); }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
.skip { position: absolute; left: -10000px; }
.skip:focus { left: 8px; top: 8px; background: var(--bg); padding: 4px 8px; z-index: 10; }
.bar { display: flex; align-items: center; gap: 16px; padding: 8px 16px;
  border-bottom: 1px solid var(--line); background: var(--panel); }
.bar .brand { font-weight: 600; }
.bar nav ul { display: flex; gap: 12px; list-style: none; margin: 0; padding: 0; }
.bar nav a[aria-current="page"] { font-weight: 600; text-decoration: none; color: var(--fg); }
.bar .who { margin-left: auto; }
.bar .role { color: var(--muted); }
main { padding: 12px 16px; }
main:focus { outline: none; }
h1 { font-size: 1.4rem; margin: 4px 0 12px; }
h2 { font-size: 1.15rem; margin: 16px 0 8px; }
h3 { font-size: 1rem; margin: 12px 0 6px; }
.key { font-family: ui-monospace, monospace; font-size: 0.9em; color: var(--muted); }
.note { color: var(--muted); margin: 4px 0; }
button { font: inherit; padding: 4px 12px; border: 1px solid var(--muted); border-radius: 4px;
  background: var(--bg); color: var(--fg); cursor: pointer; }
button[type="submit"] { background: var(--link); border-color: var(--link); color: #ffffff; }
input, select, textarea { font: inherit; padding: 3px 6px; border: 1px solid var(--muted);
  border-radius: 4px; color: var(--fg); background: var(--bg); }
label { display: block; font-size: 0.9rem; color: var(--muted); }
.filters { display: flex; flex-wrap: wrap; gap: 12px; align-items: flex-end; margin-bottom: 8px; }
.filters .actions { display: flex; gap: 6px; }
table.list { border-collapse: collapse; width: 100%; }
table.list caption { text-align: left; color: var(--muted); padding: 4px 0; }
table.list th, table.list td { border-bottom: 1px solid var(--line); padding: 6px 8px;
  text-align: left; vertical-align: top; }
table.list tbody tr:focus-within { background: #e6eefc; }
tr.urgent td:first-child { border-left: 4px solid var(--urgent); }
.mark-urgent { color: #ffffff; background: var(--urgent); padding: 1px 6px; border-radius: 3px;
  font-weight: 600; }
.mark-actionable { color: var(--urgent); font-weight: 600; }
.pages { display: flex; gap: 12px; align-items: center; margin-top: 8px; }
.state-error { color: var(--urgent); font-weight: 600; }
.state-empty { color: var(--muted); }
.study { display: flex; gap: 16px; align-items: stretch; }
.viewer { flex: 3; min-height: 70vh; border: 1px solid var(--line); }
.viewer iframe { width: 100%; height: 100%; min-height: 70vh; border: 0; }
.viewer .remedy { padding: 16px; }
.context { flex: 2; max-width: 560px; overflow-y: auto; max-height: 85vh; }
.analysis { border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px;
  margin-bottom: 12px; background: var(--panel); }
.finding { border-top: 1px solid var(--line); margin-top: 8px; padding-top: 8px; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 6px 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; }
ul.caveats { margin: 4px 0; padding-left: 20px; color: var(--urgent); }
fieldset { border: 1px solid var(--line); border-radius: 4px; margin: 8px 0; }
fieldset .choices { display: flex; gap: 12px; }
fieldset .choices label { display: inline; color: var(--fg); font-size: 1rem; }
fieldset textarea { width: 100%; }
.answered { color: var(--ok); font-weight: 600; }
pre.card { white-space: pre-wrap; background: var(--panel); border: 1px solid var(--line);
  padding: 8px; max-height: 50vh; overflow: auto; }
.login { max-width: 360px; margin: 10vh auto; }
.login form > div { margin-bottom: 10px; }
.login input { width: 100%; }
`;
