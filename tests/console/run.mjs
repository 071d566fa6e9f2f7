// run.mjs - the console's scenarios in a real browser: Debian's chromium, headless, driven by
// puppeteer-core. Settings come as one JSON object on stdin (see tests/http/test_console.py);
// each scenario prints one JSON line {"scenario", "ok", "error", "problems", "ms", "data"} and the
// exit status is 0 only when every scenario passed.
//
// Every page is watched while a scenario runs: a request to another origin, a script error, a
// console error, a CSP violation or a 5xx answer fails the scenario that was running.

import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import puppeteer from 'puppeteer-core';

const cfg = JSON.parse(await text(process.stdin));
const BASE = cfg.base_url.replace(/\/$/, '');
const ORIGIN = new URL(BASE).origin;
const CONSOLE = `${BASE}/console`;
const WAIT = cfg.wait_ms ?? 10000;             // one wait for the page
const SCENARIO_MS = cfg.scenario_ms ?? 40000;  // one scenario
const DEADLINE = Date.now() + (cfg.total_ms ?? 120000);  // all of them
const SHOTS = cfg.screenshots;
const DOWNLOADS = cfg.downloads;  // where the browser saves what a page downloads
mkdirSync(SHOTS, { recursive: true });
mkdirSync(DOWNLOADS, { recursive: true });

// Chromium logs every 4xx answer as a console error: the answers themselves are checked instead
// (a 4xx of the API is a problem unless the scenario provoked it, see refusal()).
const HTTP_STATUS_LOG = /^Failed to load resource: the server responded with a status of 4\d\d\b/;

// ---------------------------------------------------------------- watching every page

let current = null;  // the running scenario: { name, problems, page, refusals }

function problem(text) {
  (current ? current.problems : orphans).push(text);
}
const orphans = [];

async function watch(page) {
  page.on('request', (req) => {
    const url = new URL(req.url());
    if (['data:', 'blob:', 'about:'].includes(url.protocol)) return;
    if (url.origin !== ORIGIN) problem(`request to another origin: ${req.method()} ${req.url()}`);
  });
  page.on('requestfailed', (req) => {
    const why = req.failure()?.errorText ?? '';
    // A search typed on aborts the request of the letters before it.
    if (why !== 'net::ERR_ABORTED') problem(`request failed (${why}): ${req.method()} ${req.url()}`);
  });
  page.on('response', (res) => {
    const url = new URL(res.url());
    const method = res.request().method();
    if (res.status() >= 500) problem(`${res.status()} from ${method} ${res.url()}`);
    else if (res.status() >= 400 && url.pathname.startsWith('/v1/') && !refused(res.status(), method, url.pathname))
      problem(`unprovoked ${res.status()} from ${method} ${url.pathname}${url.search}`);
    // The browser asks for /favicon.ico by itself: not one of the console's assets.
    else if (res.status() >= 400 && !url.pathname.startsWith('/v1/') && url.pathname !== '/favicon.ico')
      problem(`${res.status()} for an asset: ${res.url()}`);
  });
  page.on('pageerror', (err) => problem(`script error: ${err.message}`));
  page.on('console', (msg) => {
    const t = msg.text();
    if (/Content.Security.Policy/i.test(t)) problem(`CSP: ${t}`);
    else if (msg.type() === 'error' && !HTTP_STATUS_LOG.test(t)) problem(`console error: ${t}`);
  });
  await page.exposeFunction('__cspReport', (t) => problem(`CSP violation: ${t}`));
  await page.evaluateOnNewDocument(() => {
    window.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      const t = `${e.violatedDirective} blocked ${e.blockedURI || '(inline)'} at ${e.sourceFile}:${e.lineNumber}`;
      window.__csp.push(t);
      window.__cspReport?.(t);
    });
  });
}

// A refresh without a live session is refused (401): that is how the console learns it.
function refused(status, method, path) {
  if (status === 401 && method === 'POST' && path === '/v1/auth/refresh') return true;
  return (current?.refusals ?? []).some((r) => r.status === status && r.method === method && r.path === path);
}

// The scenario provokes this answer on purpose.
function refusal(status, method, path) {
  current.refusals.push({ status, method, path });
}

// A page in a browser context of its own (its own cookies and storage): one per person.
async function newPage(browser) {
  const context = await browser.createBrowserContext({
    downloadBehavior: { policy: 'allow', downloadPath: DOWNLOADS },
  });
  const page = await context.newPage();
  await page.setViewport({ width: 1280, height: 900 });
  await watch(page);
  current.page = page;
  return page;
}

// The page the scenario goes on with (its screenshot is taken if the scenario fails).
function use(page, missing = 'an earlier scenario failed to make its page') {
  check(page, missing);
  current.page = page;
  return page;
}

// What window.__csp holds (the binding reports the same as it happens; this catches a report
// the binding missed).
async function readCsp(page) {
  if (!page || page.isClosed()) return;
  try {
    const seen = await page.evaluate(() => window.__csp ?? []);
    for (const t of seen) if (!current.problems.some((p) => p.includes(t))) problem(`CSP violation: ${t}`);
  } catch {
    // the page was navigating: its reports came through the binding
  }
}

// ---------------------------------------------------------------- helpers

function fail(message) {
  throw new Error(message);
}

function check(cond, message) {
  if (!cond) fail(message);
}

// Waits until #app is ready and `selector` (if any) matches; the error says what it saw.
async function ready(page, selector = null, timeout = WAIT) {
  try {
    await page.waitForFunction(
      (sel) => {
        const app = document.querySelector('#app');
        return app?.dataset.state === 'ready' && (!sel || document.querySelector(sel) !== null);
      },
      { timeout, polling: 50 }, selector);
  } catch (e) {
    const seen = await page.evaluate(() => ({
      state: document.querySelector('#app')?.dataset.state ?? '(no #app)',
      notice: document.querySelector('#notice')?.textContent.trim() ?? '(no #notice)',
      hash: location.hash,
    })).catch(() => ({}));
    fail(`waited ${timeout} ms for #app[data-state=ready]${selector ? ` and ${selector}` : ''}: ` +
         `#app is ${seen.state}, hash ${seen.hash}, #notice "${seen.notice}"`);
  }
}

// Waits until fn(...args) is true in the page; `what` names it in the error.
async function until(page, what, fn, ...args) {
  try {
    await page.waitForFunction(fn, { timeout: WAIT, polling: 50 }, ...args);
  } catch {
    fail(`waited ${WAIT} ms for ${what}`);
  }
}

async function textOf(page, selector) {
  return page.$eval(selector, (e) => e.textContent.trim()).catch(() => null);
}

async function exists(page, selector) {
  return (await page.$(selector)) !== null;
}

// Some element that matches is on screen (not hidden, not display:none).
async function visible(page, selector) {
  return page.evaluate((sel) => [...document.querySelectorAll(sel)].some((e) => e.checkVisibility()), selector);
}

// An action the role may not take is absent, or present but disabled.
async function unavailable(page, selector) {
  return page.evaluate((sel) => [...document.querySelectorAll(sel)].every(
    (e) => e.disabled || e.getAttribute('aria-disabled') === 'true' || !e.checkVisibility()), selector);
}

async function click(page, selector) {
  await page.waitForSelector(selector, { visible: true, timeout: WAIT }).catch(() =>
    fail(`no visible ${selector} within ${WAIT} ms`));
  await page.click(selector);
}

// Replaces what a text field holds by typing `value` into it, one key at a time.
async function fill(page, selector, value, delay = 0) {
  await page.waitForSelector(selector, { timeout: WAIT }).catch(() => fail(`no ${selector}`));
  await page.$eval(selector, (e) => {
    e.value = '';
    e.dispatchEvent(new Event('input', { bubbles: true }));
  });
  await page.type(selector, value, { delay });
}

// Sets a field the way a picker does (date inputs take no typing that is the same everywhere).
async function setValue(page, selector, value) {
  await page.waitForSelector(selector, { timeout: WAIT }).catch(() => fail(`no ${selector}`));
  await page.$eval(selector, (e, v) => {
    e.value = v;
    e.dispatchEvent(new Event('input', { bubbles: true }));
    e.dispatchEvent(new Event('change', { bubbles: true }));
  }, value);
}

async function choose(page, selector, value) {
  await page.waitForSelector(selector, { timeout: WAIT }).catch(() => fail(`no ${selector}`));
  const got = await page.select(selector, value);
  check(got.includes(value), `${selector} has no option ${value}`);
}

// Moves to a route of the console as a link would.
async function go(page, hash) {
  await page.evaluate((h) => { location.hash = h; }, hash);
}

// The whole page: the viewport grows to the page's height for the picture (a fullPage capture
// of a right-to-left page is cut at the left).
async function shot(page, name) {
  const view = page.viewport();
  const height = await page.evaluate(() => document.documentElement.scrollHeight);
  if (height > view.height) await page.setViewport({ ...view, height: Math.min(height, 8000) });
  try {
    await page.screenshot({ path: join(SHOTS, `${name}.png`) });
  } finally {
    if (height > view.height) await page.setViewport(view);
  }
}

// The server's answer to the page's next `method path` (the query aside, and where `test`
// holds): call it before the action that sends it; resolves to null when none came in time.
function answer(page, method, path, test = () => true) {
  return page.waitForResponse((res) => res.request().method() === method &&
                                       new URL(res.url()).pathname === path && test(res),
                              { timeout: WAIT })
    .then(async (res) => {
      // A refusal's problem, to say why in a failure.
      if (res.status() >= 400) res.problem = (await res.text().catch(() => '')).slice(0, 400);
      return res;
    })
    .catch(() => null);
}

// Waits for the browser to finish saving `name` in DOWNLOADS (it writes a .crdownload first).
async function downloaded(name) {
  const path = join(DOWNLOADS, name);
  for (const until = Date.now() + WAIT; Date.now() < until;) {
    if (existsSync(path)) return path;
    await new Promise((r) => setTimeout(r, 100));
  }
  fail(`${name} was not downloaded within ${WAIT} ms`);
}

function said(res, what) {
  if (!res) return `no ${what} was answered within ${WAIT} ms`;
  return `${what} answered ${res.status()}${res.problem ? ` ${res.problem}` : ''}`;
}

async function signedIn(browser, who) {
  const page = await newPage(browser);
  await signIn(page, who);
  return page;
}

async function signIn(page, who) {
  await page.goto(CONSOLE, { waitUntil: 'load', timeout: WAIT });
  await ready(page, 'form#signin');
  await fill(page, '#signin input[name=email]', who.email);
  await fill(page, '#signin input[name=password]', who.password);
  await click(page, '#signin button[type=submit]');
  // Signed in: the shell names the person and the page after the sign-in is ready.
  await until(page, `#whoami to show ${who.email} and the sign-in form to go`,
              (email) => document.querySelector('#whoami')?.textContent.includes(email) &&
                         !document.querySelector('form#signin'), who.email);
  await ready(page, '#whoami');
}

// ---------------------------------------------------------------- scenarios

const scenarios = [];
const state = {};  // what one scenario leaves for the next ones

function scenario(name, fn) {
  scenarios.push({ name, fn });
}

function cspProblems(policy) {
  if (!policy) return ['the answer has no Content-Security-Policy header'];
  const out = [];
  const dirs = new Map();
  for (const part of policy.split(';')) {
    const [name, ...sources] = part.trim().split(/\s+/);
    if (name) dirs.set(name.toLowerCase(), sources);
  }
  if (!dirs.has('default-src')) out.push('no default-src: what it does not name may come from anywhere');
  for (const d of ['script-src', 'script-src-elem', 'script-src-attr']) {
    const sources = dirs.get(d) ?? dirs.get('script-src') ?? dirs.get('default-src') ?? [];
    if (sources.includes("'unsafe-inline'")) out.push(`${d} allows 'unsafe-inline'`);
  }
  for (const [name, sources] of dirs) {
    for (const s of sources) {
      if (s.startsWith("'") || s === 'data:' || s === 'blob:') continue;  // keywords, hashes
      out.push(`${name} names another origin: ${s}`);
    }
  }
  return out;
}

scenario('csp-header', async () => {
  const res = await fetch(CONSOLE, { signal: AbortSignal.timeout(WAIT) });
  check(res.status === 200, `GET /console answered ${res.status}`);
  check((res.headers.get('content-type') ?? '').startsWith('text/html'),
        `GET /console is ${res.headers.get('content-type')}`);
  const policy = res.headers.get('content-security-policy');
  const bad = cspProblems(policy);
  check(bad.length === 0, `Content-Security-Policy "${policy}": ${bad.join('; ')}`);
  return { policy };
});

scenario('sign-in', async (browser) => {
  const page = await newPage(browser);
  await page.goto(CONSOLE, { waitUntil: 'load', timeout: WAIT });
  await ready(page, 'form#signin');
  await shot(page, 'sign-in');
  // A wrong password: the form says so and stays.
  refusal(401, 'POST', '/v1/auth/token');
  await fill(page, '#signin input[name=email]', cfg.admin.email);
  await fill(page, '#signin input[name=password]', `${cfg.admin.password} wrong`);
  await click(page, '#signin button[type=submit]');
  await until(page, '#signin [data-role=form-error] to say the sign-in failed',
              () => document.querySelector('#signin [data-role=form-error]')?.textContent.trim());
  check(!(await exists(page, '#whoami')) || !(await textOf(page, '#whoami'))?.includes(cfg.admin.email),
        'a wrong password signed in');
  await signIn(page, cfg.admin);
  state.admin = page;  // signed in: the admin's scenarios go on with it whatever follows
  const who = await textOf(page, '#whoami');
  check(who.replace(cfg.admin.email, '').includes('admin'), `#whoami "${who}" does not name the role admin`);
  check(!(await visible(page, 'form#signin')), 'the sign-in form is still there after signing in');
  const notice = await textOf(page, '#notice');
  check(notice === '', `#notice is "${notice}" after a good sign-in`);
  const navs = ['organizations', 'ministries', 'partnership-types', 'partnerships', 'charters',
                'monitoring-records', 'verify', 'users', 'api-keys', 'audit-log', 'password'];
  const missing = [];
  for (const n of navs) if (!(await visible(page, `a[data-nav=${n}]`))) missing.push(n);
  check(missing.length === 0, `the admin's nav lacks ${missing.map((n) => `a[data-nav=${n}]`).join(', ')}`);
  for (const b of ['button#lang', 'button#signout']) check(await visible(page, b), `no visible ${b}`);
  check(await exists(page, '#notice[role=alert]'), 'no #notice[role=alert]');
});

scenario('organization-form-and-search', async () => {
  const page = use(state.admin, 'the admin did not sign in');
  const o = cfg.new_organization;
  await click(page, 'a[data-nav=organizations]');
  await ready(page, 'section[data-page=list][data-resource=organizations]');
  await click(page, 'section[data-page=list] a[data-action=new]');
  const form = 'form[data-page=form][data-resource=organizations]';
  await ready(page, form);
  await fill(page, `${form} [name=name]`, o.name);
  await fill(page, `${form} [name=name_ar]`, o.name_ar);
  await choose(page, `${form} select[name=kind]`, o.kind);
  await fill(page, `${form} [name=email]`, 'not-an-email');
  const hashBefore = await page.evaluate(() => location.hash);
  refusal(422, 'POST', '/v1/organizations');
  const post = answer(page, 'POST', '/v1/organizations');
  await click(page, `${form} button[type=submit]`);
  const refused = await post;
  check(refused?.status() === 422, `${said(refused, 'POST /v1/organizations')}, expected 422`);
  await until(page, `${form} [data-error-for=email] to show the server's message`,
              (f) => document.querySelector(`${f} [data-error-for=email]`)?.textContent.trim(), form);
  await ready(page, form);
  check((await page.evaluate(() => location.hash)) === hashBefore,
        `a refused form moved from ${hashBefore} to ${await page.evaluate(() => location.hash)}`);
  const others = await page.$$eval(`${form} [data-error-for]`, (es) =>
    es.filter((e) => e.dataset.errorFor !== 'email' && e.textContent.trim()).map((e) => e.dataset.errorFor));
  check(others.length === 0, `errors shown beside fields the server did not refuse: ${others.join(', ')}`);
  await shot(page, 'organization-form-422');
  // The fix: the same form, a good address.
  await fill(page, `${form} [name=email]`, o.email);
  await click(page, `${form} button[type=submit]`);
  const record = 'section[data-page=record][data-resource=organizations][data-id]';
  await ready(page, record);
  const id = await page.$eval(record, (e) => e.dataset.id);
  state.organization = id;
  const email = await textOf(page, `${record} dd[data-field=email]`);
  check(email?.includes(o.email), `dd[data-field=email] is "${email}", expected ${o.email}`);
  const nameAr = await textOf(page, `${record} dd[data-field=name_ar]`);
  check(nameAr?.includes(o.name_ar), `dd[data-field=name_ar] is "${nameAr}", expected ${o.name_ar}`);
  // Found again by typing part of its Arabic name.
  await click(page, 'a[data-nav=organizations]');
  const list = 'section[data-page=list][data-resource=organizations]';
  await ready(page, list);
  const searched = answer(page, 'GET', '/v1/organizations',
                         (res) => new URL(res.url()).searchParams.get('q')?.trim() === o.search.trim());
  await fill(page, `${list} input[type=search][name=q]`, o.search, 80);
  const found = await searched;
  check(found?.status() === 200, said(found, `GET /v1/organizations?q=${o.search}`));
  await until(page, `the row tr[data-id="${id}"] after typing "${o.search}"`,
              (l, i) => document.querySelector(`${l} table tbody tr[data-id="${i}"]`), list, id);
  await ready(page, `${list} table tbody tr[data-id="${id}"]`);
  const row = `${list} table tbody tr[data-id="${id}"]`;
  const name = await textOf(page, `${row} td[data-field=name]`);
  check(name?.includes(o.name) || name?.includes(o.name_ar), `the row's td[data-field=name] is "${name}"`);
  check(await exists(page, `${row} a[href="#/organizations/${id}"]`), `the row has no a[href="#/organizations/${id}"]`);
  await shot(page, 'organizations-en');
  return { organization_id: id };
});

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
const TYPES = { csv: 'text/csv', xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet' };

scenario('downloads', async () => {
  const page = use(state.admin, 'the admin did not sign in');
  const id = state.organization;
  check(id, 'the organization form made no organization to look for');
  const list = 'section[data-page=list][data-resource=organizations]';
  await go(page, '#/organizations');
  await ready(page, list);
  await fill(page, `${list} input[type=search][name=q]`, cfg.new_organization.search);
  await until(page, `the row tr[data-id="${id}"]`,
              (l, i) => document.querySelector(`${l} table tbody tr[data-id="${i}"]`), list, id);
  await ready(page, list);
  const onScreen = await page.$$eval(`${list} table tbody tr[data-id]`, (trs) => trs.map((tr) => tr.dataset.id));
  const files = {};
  for (const [format, type] of Object.entries(TYPES)) {
    rmSync(join(DOWNLOADS, `organizations.${format}`), { force: true });
    const got = answer(page, 'GET', '/v1/organizations', (res) => res.headers()['content-type']?.startsWith(type));
    await click(page, `${list} button[data-action=${format}]`);
    const res = await got;
    check(res?.status() === 200, said(res, `GET /v1/organizations as ${type}`));
    files[format] = await downloaded(`organizations.${format}`);
  }
  const ids = [...new Set(readFileSync(files.csv, 'utf8').match(UUID) ?? [])];
  check(ids.sort().join() === [...onScreen].sort().join(),
        `the CSV holds ${ids.join(', ') || 'no id'}; on screen: ${onScreen.join(', ')}`);
  check(readFileSync(files.xlsx).subarray(0, 2).toString() === 'PK', 'the XLSX is no zip file');
  return { on_screen: onScreen, csv: files.csv, xlsx: files.xlsx };
});

// Every filter and the sort of a list go to the API as its list language, which accepts them.
scenario('filters-and-sort', async () => {
  const page = use(state.admin, 'the admin did not sign in');
  for (const resource of ['organizations', 'partnerships', 'monitoring-records']) {
    const list = `section[data-page=list][data-resource=${resource}]`;
    await go(page, `#/${resource}`);
    await ready(page, list);
    const selects = await page.$$eval(`${list} select[name]`, (ss) => ss.map((s) => ({
      name: s.name, values: [...s.options].map((o) => o.value).filter(Boolean) })));
    check(selects.some((s) => s.name === 'sort'), `no select[name=sort] on ${resource}`);
    for (const { name, values } of selects) {
      if (!values.length) continue;
      const value = values[values.length - 1];
      const got = answer(page, 'GET', `/v1/${resource}`,
                         (res) => new URL(res.url()).searchParams.get(name) === value);
      await choose(page, `${list} select[name="${name}"]`, value);
      const res = await got;
      check(res?.status() === 200, said(res, `GET /v1/${resource}?${name}=${value}`));
      await ready(page, list);
      await choose(page, `${list} select[name="${name}"]`, '');
      await ready(page, list);
    }
  }
});

scenario('arabic', async () => {
  const page = use(state.admin, 'the admin did not sign in');
  const list = 'section[data-page=list][data-resource=organizations]';
  await go(page, '#/organizations');
  await ready(page, list);
  const dir = () => page.evaluate(() => [document.documentElement.dir, document.documentElement.lang]);
  check((await dir()).join() === 'ltr,en', `the console starts as ${await dir()}, expected ltr,en`);
  await click(page, 'button#lang');
  await until(page, '<html dir=rtl lang=ar>',
              () => document.documentElement.dir === 'rtl' && document.documentElement.lang === 'ar');
  await ready(page, `${list} table tbody tr[data-id]`);
  await until(page, 'the nav in Arabic letters',
              () => /[\u0600-\u06FF]/.test(document.querySelector('a[data-nav=organizations]')?.textContent));
  await shot(page, 'organizations-ar');
  await readCsp(page);
  await page.reload({ waitUntil: 'load', timeout: WAIT });
  await ready(page, list);
  check((await dir()).join() === 'rtl,ar', `after a reload the console is ${await dir()}, expected rtl,ar`);
  await click(page, 'button#lang');
  await until(page, '<html dir=ltr lang=en>',
              () => document.documentElement.dir === 'ltr' && document.documentElement.lang === 'en');
  await ready(page, list);
  await until(page, 'the nav back in English',
              () => /^[^\u0600-\u06FF]+$/.test(document.querySelector('a[data-nav=organizations]')?.textContent));
});

scenario('session-refresh', async () => {
  const page = use(state.admin, 'the admin did not sign in');
  await readCsp(page);
  const refreshed = answer(page, 'POST', '/v1/auth/refresh');
  await page.reload({ waitUntil: 'load', timeout: WAIT });
  const res = await refreshed;
  check(res?.status() === 200, `the reload did not refresh the session: ${said(res, 'POST /v1/auth/refresh')}`);
  await ready(page, '#whoami');
  check(!(await visible(page, 'form#signin')), 'a reload asks to sign in again');
  const who = await textOf(page, '#whoami');
  check(who?.includes(cfg.admin.email), `#whoami is "${who}" after a reload`);
});

scenario('partnership-record', async () => {
  const page = use(state.admin, 'the admin did not sign in');
  const p = cfg.records.partnership;
  const record = `section[data-page=record][data-resource=partnerships][data-id="${p}"]`;
  await go(page, `#/partnerships/${p}`);
  await ready(page, record);
  const title = await textOf(page, `${record} dd[data-field=title]`);
  check(title?.includes(cfg.records.partnership_title), `dd[data-field=title] is "${title}"`);
  for (const [rel, id] of [['ministry', cfg.records.ministry], ['organizations', cfg.records.organization],
                           ['monitoring-records', cfg.records.monitoring_record]]) {
    await ready(page, `section[data-related=${rel}] [data-id="${id}"]`).catch(() =>
      fail(`no section[data-related=${rel}] [data-id="${id}"] on the partnership's page`));
  }
  await shot(page, 'partnership');
  // The organization's page lists the partnership.
  const org = cfg.records.organization;
  await go(page, `#/organizations/${org}`);
  await ready(page, `section[data-page=record][data-resource=organizations][data-id="${org}"]`);
  await ready(page, `section[data-related=partnerships] [data-id="${p}"]`).catch(() =>
    fail(`no section[data-related=partnerships] [data-id="${p}"] on the organization's page`));
  await ready(page, 'section[data-related=signatures]').catch(() =>
    fail("no section[data-related=signatures] on the organization's page"));
});

scenario('delete-and-restore', async () => {
  const page = use(state.admin, 'the admin did not sign in');
  const id = cfg.records.doomed_organization;
  const record = `section[data-page=record][data-resource=organizations][data-id="${id}"]`;
  await go(page, `#/organizations/${id}`);
  await ready(page, record);
  for (const a of ['a[data-action=edit]', 'button[data-action=delete]', 'a[data-action=audit]'])
    check(await visible(page, a), `the admin has no ${a} on an organization's page`);
  await click(page, 'button[data-action=delete]');
  await until(page, 'dialog#confirm to open', () => document.querySelector('dialog#confirm')?.open);
  const deleted = answer(page, 'DELETE', `/v1/organizations/${id}`);
  await click(page, 'dialog#confirm button[data-action=confirm]');
  const res = await deleted;
  check(res?.ok(), `confirming the delete: ${said(res, `DELETE /v1/organizations/${id}`)}`);
  await until(page, 'a visible button[data-action=restore] after the delete',
              () => document.querySelector('button[data-action=restore]')?.checkVisibility());
  const restored = answer(page, 'POST', `/v1/organizations/${id}/restore`);
  await click(page, 'button[data-action=restore]');
  const back = await restored;
  check(back?.ok(), said(back, `POST /v1/organizations/${id}/restore`));
  await until(page, 'the restored record (a delete button, no restore button to be seen)',
              () => document.querySelector('button[data-action=delete]')?.checkVisibility() &&
                    !document.querySelector('button[data-action=restore]')?.checkVisibility());
  await ready(page, record);
});

scenario('users', async () => {
  const page = use(state.admin, 'the admin did not sign in');
  await click(page, 'a[data-nav=users]');
  await ready(page, 'section[data-page=users] tr[data-id]');
  const emails = await page.$$eval('section[data-page=users] tr[data-id] td[data-field=email]',
                                   (es) => es.map((e) => e.textContent.trim()));
  for (const e of [cfg.admin.email, cfg.org_editor.email, cfg.ministry_editor.email])
    check(emails.includes(e), `the users page does not list ${e} (${emails.length} rows)`);
  check(await visible(page, 'section[data-page=users] a[data-action=new]'), 'no a[data-action=new] on the users page');
  await shot(page, 'users');
});

scenario('api-keys', async () => {
  const page = use(state.admin, 'the admin did not sign in');
  const k = cfg.new_key;
  await click(page, 'a[data-nav=api-keys]');
  const section = 'section[data-page=api-keys]';
  await ready(page, `${section} form[data-form=new-key]`);
  await fill(page, 'form[data-form=new-key] input[name=name]', k.name);
  await choose(page, 'form[data-form=new-key] select[name=role]', k.role);
  await fill(page, 'form[data-form=new-key] input[name=source]', k.source);
  await click(page, 'form[data-form=new-key] [type=submit]');
  await until(page, '[data-role=secret] to show the new key',
              () => document.querySelector('[data-role=secret]')?.textContent.trim());
  await ready(page, section);
  const secret = await textOf(page, '[data-role=secret]');
  check(/^sk_[A-Za-z0-9_-]{32,}$/.test(secret), `[data-role=secret] is "${secret}", not a key`);
  await shot(page, 'api-keys');
  const rowOf = (name) => page.evaluate((n) => [...document.querySelectorAll('section[data-page=api-keys] tr[data-id]')]
    .find((tr) => tr.textContent.includes(n))?.dataset.id ?? null, name);
  const id = await rowOf(k.name);
  check(id, `no row tr[data-id] holds the new key's name ${k.name}`);
  const row = `${section} tr[data-id="${id}"]`;
  await click(page, `${row} button[data-action=revoke]`);
  await until(page, 'dialog#confirm to open', () => document.querySelector('dialog#confirm')?.open);
  const revoked = answer(page, 'DELETE', `/v1/api-keys/${id}`);
  await click(page, 'dialog#confirm button[data-action=confirm]');
  const res = await revoked;
  check(res?.ok(), `confirming the revocation: ${said(res, `DELETE /v1/api-keys/${id}`)}`);
  await until(page, 'the revoked key to lose its revoke button',
              (r) => !document.querySelector(`${r} button[data-action=revoke]:not([disabled])`)?.checkVisibility(), row);
  await ready(page, section);
  // Shown once: coming back shows no secret.
  await click(page, 'a[data-nav=users]');
  await ready(page, 'section[data-page=users]');
  await click(page, 'a[data-nav=api-keys]');
  await ready(page, section);
  const again = await textOf(page, '[data-role=secret]');
  check(!again, `the secret is shown again: "${again}"`);
  check(!(await page.content()).includes(secret), 'the page holds the secret again');
  return { key_id: id };
});

scenario('audit-log', async () => {
  const page = use(state.admin, 'the admin did not sign in');
  const id = state.organization ?? cfg.records.organization;
  await go(page, `#/organizations/${id}`);
  await ready(page, `section[data-page=record][data-resource=organizations][data-id="${id}"]`);
  await click(page, 'a[data-action=audit]');
  await ready(page, 'section[data-page=audit-log] tr[data-id]');
  const hash = await page.evaluate(() => location.hash);
  check(hash.includes(`record_id=${id}`), `the audit link went to ${hash}`);
  const actions = await page.$$eval('section[data-page=audit-log] tr[data-id] td[data-field=action]',
                                    (es) => es.map((e) => e.textContent.trim().toLowerCase()));
  check(actions.some((a) => a.includes('create')), `no create entry in the audit log: ${actions.join(', ')}`);
  await shot(page, 'audit-log');
  return { organization_id: id, from_form: state.organization !== undefined };
});

scenario('sign-out', async () => {
  const page = use(state.admin, 'the admin did not sign in');
  const out = answer(page, 'POST', '/v1/auth/logout');
  await click(page, 'button#signout');
  const res = await out;
  check(res?.ok(), said(res, 'POST /v1/auth/logout'));
  await ready(page, 'form#signin');
  await readCsp(page);
  await page.reload({ waitUntil: 'load', timeout: WAIT });
  await ready(page, 'form#signin');
  const who = await textOf(page, '#whoami');
  check(!who?.includes(cfg.admin.email), `after signing out and a reload #whoami is "${who}"`);
});

scenario('verify', async (browser) => {
  const page = await signedIn(browser, cfg.ministry_editor);
  const mr = cfg.records.monitoring_record;
  await click(page, 'a[data-nav=verify]');
  const row = `section[data-page=verify] tr[data-id="${mr}"]`;
  await ready(page, row);
  await shot(page, 'verify');
  const patched = answer(page, 'PATCH', `/v1/monitoring-records/${mr}`);
  await click(page, `${row} button[data-action=verify]`);
  const res = await patched;
  check(res?.status() === 200, said(res, `PATCH /v1/monitoring-records/${mr}`));
  await until(page, `${row} to be verified (data-status=verified) or to leave the list`,
              (r) => { const tr = document.querySelector(r); return !tr || tr.dataset.status === 'verified'; }, row);
  await ready(page, 'section[data-page=verify]');
  const notice = await textOf(page, '#notice');
  check(!notice, `#notice says "${notice}" after verifying`);
});

scenario('charter-sign', async (browser) => {
  state.orgEditor = null;  // tried: the next scenarios do not wait for a sign-in that failed
  const page = state.orgEditor = await signedIn(browser, cfg.org_editor);
  const c = cfg.records.charter;
  const party = cfg.records.organization;
  await go(page, `#/charters/${c}`);
  await ready(page, `section[data-page=record][data-resource=charters][data-id="${c}"] form[data-form=sign]`);
  check(await exists(page, 'section[data-related=signatories]'), 'no section[data-related=signatories]');
  check(!(await exists(page, `section[data-related=signatories] tr[data-party-id="${party}"]`)),
        'the organization is listed as a signatory before signing');
  const today = await page.$eval('form[data-form=sign] input[name=signed_on]', (e) => e.value);
  check(/^\d{4}-\d{2}-\d{2}$/.test(today), `input[name=signed_on] starts as "${today}", not a date`);
  await setValue(page, 'form[data-form=sign] input[name=signed_on]', cfg.signature.signed_on);
  await fill(page, 'form[data-form=sign] input[name=signed_by]', cfg.signature.signed_by);
  await click(page, 'form[data-form=sign] button[type=submit]');
  await ready(page, `section[data-related=signatories] tr[data-id][data-party-id="${party}"]`);
  check(!(await visible(page, 'form[data-form=sign]')), 'the sign form is still offered after signing');
  await shot(page, 'charter-signed');
});

// The organization's editor of charter-sign, or a new sign-in when that scenario was left out.
async function orgEditor(browser) {
  if (state.orgEditor === undefined) state.orgEditor = await signedIn(browser, cfg.org_editor);
  return use(state.orgEditor, "the organization's editor did not sign in");
}

scenario('role-aware-editor', async (browser) => {
  const page = await orgEditor(browser);
  for (const r of ['partnership-types', 'charters', 'organizations']) {
    await click(page, `a[data-nav=${r}]`);
    await ready(page, `section[data-page=list][data-resource=${r}]`);
    check(await unavailable(page, 'a[data-action=new]'), `an organization's editor is offered a[data-action=new] on ${r}`);
  }
  check(await unavailable(page, 'a[data-nav=users]') && await unavailable(page, 'a[data-nav=api-keys]'),
        "an editor's nav links to the users or API keys");
  const own = cfg.records.organization;
  await go(page, `#/organizations/${own}`);
  await ready(page, `section[data-page=record][data-resource=organizations][data-id="${own}"]`);
  check(await visible(page, 'a[data-action=edit]'), 'the editor has no a[data-action=edit] on its own organization');
  check(await unavailable(page, 'button[data-action=delete]'), 'the editor may delete its own organization');
  const other = cfg.records.other_organization;
  await go(page, `#/organizations/${other}`);
  await ready(page, `section[data-page=record][data-resource=organizations][data-id="${other}"]`);
  check(await unavailable(page, 'a[data-action=edit]'), "the editor is offered to edit another organization");
  check(await unavailable(page, 'button[data-action=delete]'), 'the editor is offered to delete another organization');
  check(await unavailable(page, 'a[data-action=audit]'), "the editor is offered another organization's audit log");
});

scenario('edit-own-organization', async (browser) => {
  const page = await orgEditor(browser);
  const own = cfg.records.organization;
  const record = `section[data-page=record][data-resource=organizations][data-id="${own}"]`;
  await go(page, `#/organizations/${own}`);
  await ready(page, record);
  await click(page, `${record} a[data-action=edit]`);
  const form = 'form[data-page=form][data-resource=organizations]';
  await ready(page, form);
  check((await page.evaluate(() => location.hash)) === `#/organizations/${own}/edit`,
        `the edit link went to ${await page.evaluate(() => location.hash)}`);
  const name = await page.$eval(`${form} [name=name]`, (e) => e.value);
  check(name === cfg.records.organization_name, `the form starts with the name "${name}"`);
  await fill(page, `${form} [name=description]`, cfg.edit.description);
  const patched = answer(page, 'PATCH', `/v1/organizations/${own}`);
  await click(page, `${form} button[type=submit]`);
  const res = await patched;
  check(res?.status() === 200, said(res, `PATCH /v1/organizations/${own}`));
  await ready(page, `${record} dd[data-field=description]`);
  const shown = await textOf(page, `${record} dd[data-field=description]`);
  check(shown?.includes(cfg.edit.description), `dd[data-field=description] is "${shown}"`);
});

scenario('forbidden-notice', async (browser) => {
  const page = await orgEditor(browser);
  refusal(403, 'GET', '/v1/users');
  const listed = answer(page, 'GET', '/v1/users');
  await go(page, '#/users');
  const res = await listed;
  check(res?.status() === 403, `${said(res, 'GET /v1/users')}, expected the server's 403`);
  await until(page, '#notice to say the users page is forbidden',
              () => document.querySelector('#notice')?.textContent.trim());
  const notice = await textOf(page, '#notice');
  check(/403|forbidden|not allowed|may not|permission/i.test(notice), `#notice says "${notice}"`);
  check(!(await exists(page, 'section[data-page=users] tr[data-id]')), 'an editor sees the users');
  return { notice };
});

scenario('role-aware-analyst', async (browser) => {
  const page = state.analyst = await signedIn(browser, cfg.analyst);
  await click(page, 'a[data-nav=organizations]');
  await ready(page, 'section[data-page=list][data-resource=organizations] table tbody tr[data-id]');
  check(await unavailable(page, 'a[data-action=new]'), 'an analyst is offered a[data-action=new]');
  const org = cfg.records.organization;
  await go(page, `#/organizations/${org}`);
  await ready(page, `section[data-page=record][data-resource=organizations][data-id="${org}"]`);
  for (const a of ['a[data-action=edit]', 'button[data-action=delete]'])
    check(await unavailable(page, a), `an analyst is offered ${a}`);
});

scenario('password', async (browser) => {
  const page = use(state.analyst, 'the analyst did not sign in');
  const elsewhere = await signedIn(browser, cfg.analyst);  // a second session of the same person
  use(page);
  await click(page, 'a[data-nav=password]');
  const form = 'form[data-form=password]';
  await ready(page, form);
  await fill(page, `${form} input[name=current_password]`, cfg.analyst.password);
  await fill(page, `${form} input[name=new_password]`, cfg.analyst.new_password);
  const changed = answer(page, 'POST', '/v1/auth/password');
  await click(page, `${form} button[type=submit]`);
  const res = await changed;
  check(res?.ok(), said(res, 'POST /v1/auth/password'));
  const errors = await page.$$eval(`${form} [data-error-for]`, (es) => es.map((e) => e.textContent.trim()).filter(Boolean));
  check(errors.length === 0, `field errors after a good change: ${errors.join('; ')}`);
  // This session goes on; the other one has ended.
  await readCsp(page);
  await page.reload({ waitUntil: 'load', timeout: WAIT });
  await ready(page, '#whoami');
  check((await textOf(page, '#whoami'))?.includes(cfg.analyst.email), 'the session that changed the password ended');
  use(elsewhere);
  await elsewhere.reload({ waitUntil: 'load', timeout: WAIT });
  await ready(elsewhere, 'form#signin');
});

// ---------------------------------------------------------------- the run

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what} took over ${ms} ms`)), ms); }),
  ]).finally(() => clearTimeout(timer));
}

const browser = await puppeteer.launch({
  executablePath: cfg.chromium ?? '/usr/bin/chromium',
  headless: true,
  // As root Chromium needs --no-sandbox; the rest keeps it quiet and small on a test machine.
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync',
         '--disable-default-apps', '--disable-extensions', '--lang=en-US'],
  timeout: 30000,
  protocolTimeout: 30000,
});

let failed = 0;
const only = cfg.only ? new Set(cfg.only) : null;
try {
  for (const { name, fn } of scenarios) {
    if (only && !only.has(name)) continue;
    current = { name, problems: [], refusals: [] };
    const started = Date.now();
    let error = null;
    let data = null;
    const left = DEADLINE - Date.now();
    try {
      if (left < 1000) fail('not run: the run is out of time');
      data = await withTimeout(fn(browser), Math.min(SCENARIO_MS, left), name) ?? null;
    } catch (e) {
      error = e.message;
    }
    for (const page of Object.values(state)) if (page?.evaluate) await readCsp(page);
    if (error && current.page && !current.page.isClosed())
      await shot(current.page, `failed-${name}`).catch(() => {});
    const ok = !error && current.problems.length === 0;
    if (!ok) failed++;
    console.log(JSON.stringify({ scenario: name, ok, error, problems: current.problems,
                                 ms: Date.now() - started, data }));
    current = null;
  }
} finally {
  await browser.close();
}
if (orphans.length) {
  console.log(JSON.stringify({ scenario: '(between scenarios)', ok: false, error: null, problems: orphans }));
  failed++;
}
process.exit(failed ? 1 : 0);
