// api.js - the public API as the console calls it: the session (an access token kept in memory
// only, renewed with the HttpOnly refresh cookie the server sets on /v1/auth), requests, and
// problem+json answers turned into errors that know their fields.

let token = null;
let renewTimer = null;
let refreshing = null;
const listeners = new Set();

export const session = {
  me: null, // GET /v1/auth/me: sub, role, organization_id, ministry_id
  email: localStorage.getItem('sharaka.email') || '',
};

// Called with false when the session ends (sign-out, a refused refresh).
export function onSession(fn) { listeners.add(fn); }
function ended() {
  localStorage.removeItem('sharaka.session');
  token = null;
  session.me = null;
  clearTimeout(renewTimer);
  for (const fn of listeners) fn(false);
}

// An answer that is not 2xx: status, the problem body, and each field's message.
export class Problem extends Error {
  constructor(status, body) {
    super((body && (body.detail || body.title)) || `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
    this.fields = {};
    for (const e of this.body.errors || []) {
      // "organizations[0].role" and "sections[1]" belong to the field before [ or .
      const field = String(e.field || '').split(/[.[]/)[0];
      if (field && !this.fields[field]) this.fields[field] = e.message || e.code;
    }
  }
}

function keep(answer) {
  token = answer.access_token;
  clearTimeout(renewTimer);
  // a minute before it expires, or halfway for a short-lived token
  const ahead = Math.max(10, Math.min(60, answer.expires_in / 2));
  renewTimer = setTimeout(() => { refresh().catch(() => {}); }, (answer.expires_in - ahead) * 1000);
}

// Renews the access token with the refresh cookie. One at a time, across tabs too: a refresh
// token is good once, and the server ends the session when one is presented twice.
export function refresh() {
  if (refreshing) return refreshing;
  const run = async () => {
    const r = await fetch('/v1/auth/refresh', { method: 'POST', credentials: 'same-origin' });
    if (!r.ok) return false;
    keep(await r.json());
    return true;
  };
  const locked = navigator.locks ? navigator.locks.request('sharaka-refresh', run) : run();
  refreshing = locked.finally(() => { refreshing = null; });
  return refreshing;
}

export async function signIn(email, password) {
  const r = await fetch('/v1/auth/token', {
    method: 'POST', credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  const body = await r.json().catch(() => null);
  if (!r.ok) throw new Problem(r.status, body);
  keep(body);
  session.email = email;
  localStorage.setItem('sharaka.email', email);
  localStorage.setItem('sharaka.session', '1');
  return loadMe();
}

// Restores the session after a reload, from the refresh cookie alone.
export async function resume() {
  // Only where a session was started: the cookie itself cannot be read (HttpOnly).
  if (!localStorage.getItem('sharaka.session')) return false;
  if (!(await refresh())) {
    localStorage.removeItem('sharaka.session');
    return false;
  }
  await loadMe();
  return true;
}

async function loadMe() {
  session.me = await get('/v1/auth/me');
  for (const fn of listeners) fn(true);
  return session.me;
}

export async function signOut() {
  await fetch('/v1/auth/logout', { method: 'POST', credentials: 'same-origin' }).catch(() => {});
  localStorage.removeItem('sharaka.email');
  localStorage.removeItem('sharaka.session');
  session.email = '';
  ended();
}

function url(path, query) {
  const u = new URL(path, location.origin);
  for (const [k, v] of Object.entries(query || {}))
    if (v !== undefined && v !== null && v !== '') u.searchParams.set(k, v);
  return u.pathname + u.search;
}

// One request; a 401 renews the token once and tries again. Returns {status, headers, body}
// (body: parsed JSON, a Blob when asked, or null) or throws a Problem.
export async function request(method, path, { query, body, headers, blob } = {}) {
  const send = () => {
    const h = { Accept: blob ? '*/*' : 'application/json', ...(headers || {}) };
    if (token) h.Authorization = `Bearer ${token}`;
    if (body !== undefined) h['Content-Type'] = 'application/json';
    return fetch(url(path, query), {
      method, headers: h, credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  };
  let r = await send();
  if (r.status === 401 && token) {
    if (await refresh()) r = await send();
    else ended();
  }
  if (r.status === 204 || r.status === 304) return { status: r.status, headers: r.headers, body: null };
  if (!r.ok) {
    const problem = await r.json().catch(() => null);
    throw new Problem(r.status, problem);
  }
  return { status: r.status, headers: r.headers, body: blob ? await r.blob() : await r.json() };
}

export async function get(path, query) { return (await request('GET', path, { query })).body; }
export async function post(path, body) { return (await request('POST', path, { body })).body; }
export async function patch(path, body, etag) {
  return (await request('PATCH', path, { body, headers: etag ? { 'If-Match': etag } : {} })).body;
}
export async function del(path) { return request('DELETE', path); }

// Every page of a list (bounded), for small sets such as a charter's signatories.
export async function all(path, query, max = 5) {
  const out = [];
  let cursor;
  for (let i = 0; i < max; i++) {
    const page = await get(path, { ...query, limit: 200, cursor });
    out.push(...page.data);
    if (!page.next_cursor) break;
    cursor = page.next_cursor;
  }
  return out;
}
