/**
 * The login page: posts the user name and password as JSON (POST /api/login), then goes to
 * the page the user came from (`next`, a path on this node only) or the role's start page.
 */
import { homeFor, safeNext } from '../shared/views.js';

function start(): void {
  const form = document.getElementById('login-form') as HTMLFormElement;
  const status = document.getElementById('login-status') as HTMLElement;
  const user = document.getElementById('user') as HTMLInputElement;
  const password = document.getElementById('password') as HTMLInputElement;
  user.focus();
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    status.textContent = 'Logging in…';
    void (async () => {
      let response: Response;
      try {
        response = await fetch('/api/login', {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json' },
          credentials: 'same-origin',
          body: JSON.stringify({ user: user.value, password: password.value }),
        });
      } catch {
        status.textContent =
          'The node cannot be reached: check the network or whether Radiolens is running.';
        return;
      }
      const body = (await response.json().catch(() => ({}))) as { role?: string; error?: string };
      if (response.ok && typeof body.role === 'string') {
        const next = safeNext(new URLSearchParams(window.location.search).get('next'));
        window.location.assign(next ?? homeFor(body.role));
        return;
      }
      password.value = '';
      password.focus();
      status.textContent =
        response.status === 401
          ? 'Wrong user name or password (or the user is disabled).'
          : response.status === 429
            ? (body.error ?? 'Too many failed logins: wait a while and try again.')
            : `Login failed (${response.status}${body.error === undefined ? '' : `: ${body.error}`}).`;
    })();
  });
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
else start();
