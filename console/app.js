// app.js - the console: the shell (navigation, language, session) and the hash router that
// draws each page into <main id="app">, whose data-state says "loading" until the page's data
// is in and "ready" after.

import * as api from './api.js';
import { fill, h } from './dom.js';
import { applyLang, lang, setLang, t, valueLabel } from './i18n.js';
import { isAdmin, resources } from './model.js';
import * as pages from './pages.js';

const app = document.getElementById('app');
let generation = 0;
let keepNotice = false;

function where() {
  const raw = location.hash.slice(1) || '/organizations';
  const [path, qs] = raw.split('?');
  return { parts: path.split('/').filter(Boolean).map(decodeURIComponent), params: new URLSearchParams(qs || '') };
}

// Goes to hash; a notice set just before (e.g. "Saved.") stays for the next page.
function go(hash) {
  keepNotice = true;
  if (location.hash === hash) route();
  else location.hash = hash;
}

async function route() {
  const gen = ++generation;
  const { parts, params } = where();
  app.dataset.state = 'loading';
  if (!keepNotice) pages.notice(null);
  keepNotice = false;
  const ctx = {
    app, params, go, reload: route,
    busy: (b) => { if (gen === generation) app.dataset.state = b ? 'loading' : 'ready'; },
  };
  markNav(parts[0]);
  try {
    if (!api.session.me && parts[0] !== 'signin') {
      const next = location.hash && !location.hash.startsWith('#/signin') ? location.hash : '';
      location.replace(`#/signin${next ? `?next=${encodeURIComponent(next)}` : ''}`);
      return;
    }
    await dispatch(ctx, parts);
  } catch (err) {
    if (gen !== generation) return;
    pages.notice(err);
    fill(app, h('section', { 'data-page': 'error' }, h('p', { class: 'muted' },
      err instanceof api.Problem && err.status === 404 ? t('not_found') : t('error'))));
  } finally {
    if (gen === generation) app.dataset.state = 'ready';
  }
}

function dispatch(ctx, [first, second, third]) {
  switch (first) {
    case 'signin':
      if (api.session.me) { location.replace(ctx.params.get('next') || '#/organizations'); return null; }
      return pages.signin(ctx);
    case 'verify': return pages.verify(ctx);
    case 'password': return pages.password(ctx);
    case 'users':
      if (second === 'new') return pages.form(ctx, 'users', null);
      if (second) return pages.form(ctx, 'users', second);
      return pages.users(ctx);
    case 'api-keys': return pages.apiKeys(ctx);
    case 'audit-log': return pages.audit(ctx);
    default:
      if (!resources[first]) throw new api.Problem(404, { title: t('not_found'), detail: `#/${first || ''}` });
      if (!second) return pages.list(ctx, first);
      if (second === 'new') return pages.form(ctx, first, null);
      if (third === 'edit') return pages.form(ctx, first, second);
      return pages.record(ctx, first, second);
  }
}

// ---------------------------------------------------------------- the shell

function drawShell() {
  const me = api.session.me;
  const nav = document.getElementById('nav');
  const links = Object.keys(resources).map((r) => [r, t(r)]);
  if (me && (isAdmin(me) || (me.role === 'editor' && me.ministry_id))) links.push(['verify', t('verify')]);
  if (isAdmin(me)) links.push(['users', t('users')], ['api-keys', t('api-keys')], ['audit-log', t('audit-log')]);
  if (me) links.push(['password', t('change_password')]);
  fill(nav, links.map(([key, text]) => h('a', { href: `#/${key}`, dataset: { nav: key } }, text)));
  nav.hidden = !me;
  // the address kept apart from the text around it, so that it reads left to right in Arabic too
  if (me) fill(document.getElementById('whoami'), h('bdi', {}, api.session.email || me.sub), ` · ${valueLabel(me.role)}`);
  else fill(document.getElementById('whoami'));
  document.getElementById('signout').hidden = !me;
  document.getElementById('signout').textContent = t('signout');
  document.getElementById('lang').textContent = t('switch');
  document.getElementById('brand').textContent = t('brand');
  markNav(where().parts[0]);
}

function markNav(key) {
  for (const a of document.querySelectorAll('#nav a'))
    if (a.dataset.nav === key) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
}

document.getElementById('lang').addEventListener('click', () => {
  setLang(lang === 'ar' ? 'en' : 'ar');
  drawShell();
  route();
});
document.getElementById('signout').addEventListener('click', async () => {
  await api.signOut();
  location.hash = '#/signin';
});
api.onSession((signedIn) => {
  drawShell();
  if (!signedIn && !location.hash.startsWith('#/signin')) location.hash = '#/signin';
});

async function boot() {
  applyLang();
  drawShell();
  try { await api.resume(); } catch { /* signed out: the sign-in page says what to do */ }
  window.addEventListener('hashchange', route);
  route();
}

boot();
