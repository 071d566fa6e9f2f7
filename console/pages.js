// pages.js - the console's pages. Each takes the page context {app, params, go} and fills
// ctx.app; app.js marks the page ready once the returned promise settles.

import * as api from './api.js';
import { confirmDialog, fill, h, saveBlob } from './dom.js';
import { fieldLabel, lang, t, valueLabel } from './i18n.js';
import {
  filterValues, formFields, isAdmin, mayCreate, mayDelete, mayEdit, mayVerify, ownParty,
  references, resources,
} from './model.js';

const PAGE = 25;

// ---------------------------------------------------------------- shared pieces

export function notice(what) {
  const el = document.getElementById('notice');
  if (!what) { el.textContent = ''; el.hidden = true; return; }
  el.hidden = false;
  if (what instanceof api.Problem) {
    const b = what.body;
    const head = what.status === 403 ? t('forbidden') : (b.title || t('error'));
    el.textContent = `${what.status} · ${head}${b.detail ? ` — ${b.detail}` : ''}`;
  } else if (what instanceof TypeError) {
    el.textContent = t('offline');
  } else {
    el.textContent = String(what.message || what);
  }
}

const display = (record, field) =>
  (record && (record[`display_${field}`] ?? record[field])) || (record && record.id) || '';

const labelOf = (resource, record) => display(record, resources[resource]?.label || 'name');

function value(v, field) {
  if (v === null || v === undefined || v === '') return '—';
  if (typeof v === 'boolean') return v ? t('yes') : t('no');
  if (Array.isArray(v)) {
    if (v.length && typeof v[0] === 'object') return v.map((x) => x.heading || JSON.stringify(x)).join(' · ');
    return v.map((x) => valueLabel(x)).join(', ') || '—';
  }
  if (typeof v === 'object') return Object.entries(v).map(([k, x]) => `${k}: ${x}`).join(', ') || '—';
  if (/(_at)$/.test(field) && typeof v === 'string') return v.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
  if (/^[a-z]+(-[a-z]+)*$/.test(v) && !/name|title|code|source|acronym|indicator/.test(field)) return valueLabel(v);
  return String(v);
}

// The records of resource with these ids, by id, with only fields (one request per 12 ids: a
// filter holds 500 bytes).
async function byIds(resource, ids, fields) {
  const out = {};
  const unique = [...new Set(ids.filter(Boolean))];
  for (let i = 0; i < unique.length; i += 12) {
    const page = await api.get(`/v1/${resource}`, {
      id: unique.slice(i, i + 12).join(','), fields: `id,${fields}`, lang, limit: 200,
    });
    for (const r of page.data) out[r.id] = r;
  }
  return out;
}

// The names of records of resource by id.
async function namesOf(resource, ids) {
  const label = resources[resource].label;
  const found = await byIds(resource, ids, label);
  return Object.fromEntries(Object.entries(found).map(([id, r]) => [id, display(r, label)]));
}

function link(resource, id, text) {
  return h('a', { href: `#/${resource}/${id}` }, text || id);
}

// A table of these column headings over rows (a list of rows, or a tbody to keep filling).
function table(columns, rows) {
  return h('table', {},
    h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col' }, c)))),
    rows instanceof HTMLTableSectionElement ? rows : h('tbody', {}, rows));
}

function heading(text, ...extra) { return h('div', { class: 'heading' }, h('h1', {}, text), ...extra); }

// ---------------------------------------------------------------- sign in

export async function signin(ctx) {
  const error = h('p', { 'data-role': 'form-error', class: 'error' });
  const form = h('form', { id: 'signin', class: 'card narrow' },
    h('h1', {}, t('signin')),
    h('label', {}, t('email'), h('input', { name: 'email', type: 'email', required: true, autocomplete: 'username', value: api.session.email })),
    h('label', {}, t('password'), h('input', { name: 'password', type: 'password', required: true, autocomplete: 'current-password' })),
    error,
    h('button', { type: 'submit', class: 'primary' }, t('signin')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.textContent = '';
    try {
      await api.signIn(form.email.value.trim(), form.password.value);
      ctx.go(ctx.params.get('next') || '#/organizations');
    } catch (err) {
      error.textContent = err instanceof api.Problem ? `${t('signin_failed')}: ${err.body.detail || err.message}` : t('offline');
    }
  });
  fill(ctx.app, form);
}

// ---------------------------------------------------------------- lists

// A table that pages with the keyset cursor: load(cursor) answers a page ({data, next_cursor}),
// row(record, page) draws one of its records. Returns the table, the pager row (with extra at
// its end), restart() (from the first page) and cursor() (the page on screen).
function paged(ctx, columns, load, row, extra) {
  const body = h('tbody');
  const count = h('span', { class: 'muted' });
  const prev = h('button', { type: 'button', 'data-action': 'prev', disabled: true }, t('prev'));
  const next = h('button', { type: 'button', 'data-action': 'next', disabled: true }, t('next'));
  const cursors = [];
  let cursor = null;
  let page = null;
  const draw = async () => {
    ctx.busy(true);
    try {
      page = await load(cursor);
      fill(body, page.data.length ? page.data.map((r) => row(r, page))
        : h('tr', {}, h('td', { colspan: columns.length, class: 'muted' }, t('none'))));
      prev.disabled = cursors.length === 0;
      next.disabled = !page.next_cursor;
      count.textContent = `${page.data.length} ${t('page_of')}`;
      notice(null);
    } catch (err) {
      notice(err);
    } finally {
      ctx.busy(false);
    }
  };
  next.addEventListener('click', () => { if (!page || !page.next_cursor) return; cursors.push(cursor); cursor = page.next_cursor; draw(); });
  prev.addEventListener('click', () => { if (!cursors.length) return; cursor = cursors.pop(); draw(); });
  return {
    table: table(columns, body),
    pager: h('div', { class: 'pager' }, prev, count, next, extra ? [h('span', { class: 'spacer' }), extra] : null),
    restart: () => { cursors.length = 0; cursor = null; return draw(); },
    cursor: () => cursor,
  };
}

// Calls fn 250 ms after the last keystroke in input (the page is loading meanwhile).
function asYouType(ctx, input, fn) {
  let timer = null;
  input.addEventListener('input', () => { clearTimeout(timer); ctx.busy(true); timer = setTimeout(fn, 250); });
}

export async function list(ctx, resource) {
  const conf = resources[resource];
  const me = api.session.me;
  const state = Object.fromEntries(ctx.params);

  const q = h('input', { type: 'search', name: 'q', value: state.q || '', placeholder: t('search'), 'aria-label': t('search') });
  const sort = h('select', { name: 'sort', 'aria-label': t('sort') },
    h('option', { value: '' }, `${t('sort')}: ${t(state.q ? 'relevance' : 'default_sort')}`),
    conf.sorts.map((s) => h('option', { value: s }, `${fieldLabel(s.replace(/^-/, ''))}${s.startsWith('-') ? ' ↓' : ' ↑'}`)));
  sort.value = state.sort || '';
  const filters = [];
  for (const f of conf.filters) {
    const values = await filterValues(resource, f);
    if (!values) continue;
    const sel = h('select', { name: f, 'aria-label': fieldLabel(f) },
      h('option', { value: '' }, `${fieldLabel(f)}: ${t('any')}`),
      values.map((v) => h('option', { value: v }, valueLabel(v))));
    sel.value = state[f] || '';
    filters.push(sel);
  }
  const query = (cursor) => {
    const out = { limit: PAGE, lang };
    if (q.value.trim()) out.q = q.value.trim();
    if (sort.value) out.sort = sort.value;
    for (const f of filters) if (f.value) out[f.name] = f.value;
    if (cursor) out.cursor = cursor;
    return out;
  };
  const keepState = () => {
    const s = new URLSearchParams();
    if (q.value.trim()) s.set('q', q.value.trim());
    if (sort.value) s.set('sort', sort.value);
    for (const f of filters) if (f.value) s.set(f.name, f.value);
    history.replaceState(null, '', `#/${resource}${s.toString() ? `?${s}` : ''}`);
  };
  let rows = null;
  const download = (format) => async () => {
    try {
      const r = await api.request('GET', `/v1/${resource}`, {
        query: { ...query(rows.cursor()), format, fields: ['id', ...conf.columns].join(',') }, blob: true,
      });
      saveBlob(r.body, `${resource}.${format}`);
    } catch (err) { notice(err); }
  };
  rows = paged(ctx, conf.columns.map(fieldLabel), (cursor) => api.get(`/v1/${resource}`, query(cursor)),
    (r) => h('tr', { dataset: { id: r.id } }, conf.columns.map((c, i) => h('td', { dataset: { field: c } },
      i === 0 ? link(resource, r.id, c === conf.label ? labelOf(resource, r) : value(r[c], c)) : value(r[c], c)))),
    [h('button', { type: 'button', 'data-action': 'csv', onclick: download('csv') }, t('csv')),
      h('button', { type: 'button', 'data-action': 'xlsx', onclick: download('xlsx') }, t('xlsx'))]);
  const restart = () => {
    sort.options[0].textContent = `${t('sort')}: ${t(q.value.trim() ? 'relevance' : 'default_sort')}`;
    keepState();
    rows.restart();
  };
  asYouType(ctx, q, restart);
  sort.addEventListener('change', restart);
  for (const f of filters) f.addEventListener('change', restart);

  fill(ctx.app, h('section', { 'data-page': 'list', 'data-resource': resource },
    heading(t(resource),
      mayCreate(me, resource) ? h('a', { href: `#/${resource}/new`, 'data-action': 'new', class: 'button primary' }, t('new')) : null),
    h('div', { class: 'toolbar' }, q, filters, sort),
    rows.table, rows.pager));
  await rows.restart();
}

// ---------------------------------------------------------------- one record

const INCLUDES = { partnerships: 'ministry,type,organizations', ministries: 'parent' };

export async function record(ctx, resource, id) {
  const me = api.session.me;
  const r = await api.request('GET', `/v1/${resource}/${id}`, { query: { lang, include: INCLUDES[resource] } });
  const rec = r.body;
  const related = [];
  let partnership = null;
  if (resource === 'monitoring-records')
    partnership = await api.get(`/v1/partnerships/${rec.partnership_id}`, { lang }).catch(() => null);

  const names = {};
  for (const [field, target] of Object.entries(references))
    if (rec[field] && typeof rec[field] === 'string') {
      const embedded = { ministry_id: rec.ministry, type_id: rec.type, parent_id: rec.parent }[field];
      names[field] = embedded ? labelOf(target, embedded) : (await namesOf(target, [rec[field]]))[rec[field]];
    }
  if (partnership) names.partnership_id = labelOf('partnerships', partnership);

  const rows = [];
  for (const [k, v] of Object.entries(rec)) {
    if (k.startsWith('display_') || (v && typeof v === 'object' && !Array.isArray(v) && !['external_ids'].includes(k))) continue;
    if (['ministry', 'type', 'parent'].includes(k)) continue;
    let shown;
    if (k === 'organizations') shown = h('span', {}, v.map((o, i) => [i ? ', ' : '', link('organizations', o.organization_id, o.organization ? labelOf('organizations', o.organization) : o.organization_id), ` (${valueLabel(o.role)})`]));
    else if (k === 'sections') shown = h('div', {}, (rec.display_sections || v).map((s) => h('div', { class: 'section' }, h('h3', {}, s.heading), h('p', {}, s.body))));
    else if (references[k] && v) shown = link(references[k], v, names[k] || v);
    else shown = value(k.startsWith('name') || k.startsWith('title') ? v : v, k);
    rows.push(h('dt', {}, fieldLabel(k)), h('dd', { dataset: { field: k } }, shown));
  }

  // related records
  if (resource === 'partnerships') {
    if (rec.ministry) related.push(h('section', { 'data-related': 'ministry' }, h('h2', {}, t('ministry')),
      h('p', { dataset: { id: rec.ministry.id } }, link('ministries', rec.ministry.id, labelOf('ministries', rec.ministry)))));
    related.push(h('section', { 'data-related': 'organizations' }, h('h2', {}, fieldLabel('organizations')),
      table([fieldLabel('name'), fieldLabel('role')], rec.organizations.map((o) => h('tr', { dataset: { id: o.organization_id } },
        h('td', {}, link('organizations', o.organization_id, o.organization ? labelOf('organizations', o.organization) : o.organization_id)),
        h('td', {}, valueLabel(o.role)))))));
    if (me) {
      const mons = await api.all('/v1/monitoring-records', { partnership_id: id, sort: '-period_end' }, 2).catch(() => []);
      related.push(h('section', { 'data-related': 'monitoring-records' }, h('h2', {}, t('monitoring-records'),
        mayEdit(me, resource, rec) ? h('a', { href: `#/monitoring-records/new?partnership_id=${id}`, 'data-action': 'new-monitoring', class: 'button small' }, t('new')) : null),
        mons.length ? table([fieldLabel('indicator'), fieldLabel('period_end'), fieldLabel('actual'), fieldLabel('target'), fieldLabel('status')],
          mons.map((m) => h('tr', { dataset: { id: m.id } }, h('td', {}, link('monitoring-records', m.id, m.indicator)),
            h('td', {}, value(m.period_end)), h('td', {}, value(m.actual)), h('td', {}, value(m.target)), h('td', {}, value(m.status, 'status')))))
          : h('p', { class: 'muted' }, t('none'))));
    }
  }
  if (resource === 'organizations' || resource === 'ministries') {
    const key = resource === 'organizations' ? 'organization_id' : 'ministry_id';
    const parts = await api.all('/v1/partnerships', { [key]: id, lang, fields: 'id,title,status' }, 2);
    related.push(h('section', { 'data-related': 'partnerships' }, h('h2', {}, t('partnerships')),
      parts.length ? table([fieldLabel('title'), fieldLabel('status')], parts.map((p) => h('tr', { dataset: { id: p.id } },
        h('td', {}, link('partnerships', p.id, labelOf('partnerships', p))), h('td', {}, value(p.status, 'status')))))
        : h('p', { class: 'muted' }, t('none'))));
    const charters = await api.all('/v1/charters', { lang, fields: 'id,title' }, 1);
    const sigs = [];
    for (const c of charters) {
      const found = await api.get(`/v1/charters/${c.id}/signatories`, {
        party_type: resource === 'organizations' ? 'organization' : 'ministry', party_id: id, limit: 200,
      });
      for (const s of found.data) sigs.push({ ...s, charter: c });
    }
    related.push(h('section', { 'data-related': 'signatures' }, h('h2', {}, t('signatures')),
      sigs.length ? table([t('charters'), t('signed_on'), fieldLabel('withdrawn_on')], sigs.map((s) => h('tr', { dataset: { id: s.id } },
        h('td', {}, link('charters', s.charter.id, labelOf('charters', s.charter))), h('td', {}, value(s.signed_on)), h('td', {}, value(s.withdrawn_on)))))
        : h('p', { class: 'muted' }, t('none'))));
  }
  if (resource === 'charters') related.push(await signatories(ctx, rec));

  // actions
  const actions = h('div', { class: 'actions' });
  if (mayEdit(me, resource, rec, partnership))
    actions.append(h('a', { href: `#/${resource}/${id}/edit`, 'data-action': 'edit', class: 'button' }, t('edit')));
  if (resource === 'monitoring-records' && rec.status === 'submitted' && mayVerify(me, partnership))
    actions.append(h('button', { type: 'button', 'data-action': 'verify', class: 'primary', onclick: async () => {
      try { await api.patch(`/v1/monitoring-records/${id}`, { status: 'verified' }); ctx.reload(); } catch (err) { notice(err); }
    } }, t('verify_action')));
  if (isAdmin(me)) actions.append(h('a', { href: `#/audit-log?resource=${resource}&record_id=${id}`, 'data-action': 'audit', class: 'button' }, t('audit')));
  if (mayDelete(me, resource)) {
    const restore = h('button', { type: 'button', 'data-action': 'restore', hidden: true }, t('restore'));
    const del = h('button', { type: 'button', 'data-action': 'delete', class: 'danger' }, t('delete'));
    del.addEventListener('click', async () => {
      if (!(await confirmDialog(t('confirm_delete'), { cancel: t('cancel'), confirm: t('delete') }))) return;
      try {
        await api.del(`/v1/${resource}/${id}`);
        del.hidden = true; restore.hidden = false;
        ctx.app.querySelector('[data-page=record]').dataset.deleted = 'true';
        notice(t('deleted'));
      } catch (err) { notice(err); }
    });
    restore.addEventListener('click', async () => {
      try { await api.post(`/v1/${resource}/${id}/restore`); notice(null); ctx.reload(); } catch (err) { notice(err); }
    });
    actions.append(del, restore);
  }

  fill(ctx.app, h('section', { 'data-page': 'record', 'data-resource': resource, 'data-id': id },
    heading(labelOf(resource, rec), actions),
    h('p', { class: 'muted' }, h('a', { href: `#/${resource}`, class: 'back' }, t(resource))),
    h('dl', { class: 'fields' }, rows),
    related));
}

// A charter's signatories, and the form an editor signs with for its own party.
async function signatories(ctx, charter) {
  const me = api.session.me;
  const sigs = await api.all(`/v1/charters/${charter.id}/signatories`, { sort: 'signed_on' }, 5);
  const orgs = await namesOf('organizations', sigs.filter((s) => s.party_type === 'organization').map((s) => s.party_id));
  const mins = await namesOf('ministries', sigs.filter((s) => s.party_type === 'ministry').map((s) => s.party_id));
  const section = h('section', { 'data-related': 'signatories' }, h('h2', {}, t('signatories')),
    sigs.length ? table([fieldLabel('party_id'), fieldLabel('party_type'), t('signed_on'), t('signed_by'), fieldLabel('withdrawn_on')],
      sigs.map((s) => h('tr', { dataset: { id: s.id, partyId: s.party_id } },
        h('td', {}, link(s.party_type === 'organization' ? 'organizations' : 'ministries', s.party_id,
          (s.party_type === 'organization' ? orgs : mins)[s.party_id])),
        h('td', {}, valueLabel(s.party_type)), h('td', {}, value(s.signed_on)), h('td', {}, value(s.signed_by)),
        h('td', {}, value(s.withdrawn_on))))) : h('p', { class: 'muted' }, t('none')));
  const party = ownParty(me);
  const signed = party && sigs.some((s) => s.party_id === party.party_id && !s.withdrawn_on);
  if (party && !signed) {
    const error = h('p', { 'data-role': 'form-error', class: 'error' });
    const today = new Date().toISOString().slice(0, 10);
    const form = h('form', { 'data-form': 'sign', class: 'card' },
      h('h3', {}, t(party.party_type === 'organization' ? 'sign' : 'sign_ministry')),
      h('label', {}, t('signed_on'), h('input', { type: 'date', name: 'signed_on', value: today, required: true }),
        h('span', { class: 'error', 'data-error-for': 'signed_on' })),
      h('label', {}, t('signed_by'), h('input', { type: 'text', name: 'signed_by', maxlength: 200 }),
        h('span', { class: 'error', 'data-error-for': 'signed_by' })),
      error, h('button', { type: 'submit', class: 'primary' }, t('sign')));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      try {
        await api.post(`/v1/charters/${charter.id}/signatories`, {
          ...party, signed_on: form.signed_on.value, ...(form.signed_by.value.trim() ? { signed_by: form.signed_by.value.trim() } : {}),
        });
        ctx.reload();
      } catch (err) { showErrors(form, err, error); }
    });
    section.append(form);
  }
  return section;
}

// ---------------------------------------------------------------- forms

function showErrors(form, err, general) {
  for (const el of form.querySelectorAll('[data-error-for]')) el.textContent = '';
  general.textContent = '';
  if (!(err instanceof api.Problem)) { general.textContent = t('offline'); return; }
  let placed = false;
  for (const [field, message] of Object.entries(err.fields)) {
    const slot = form.querySelector(`[data-error-for="${CSS.escape(field)}"]`);
    if (slot) { slot.textContent = message; placed = true; }
  }
  if (!placed || err.status !== 422) general.textContent = `${err.status} · ${err.body.detail || err.message}`;
  notice(err.status === 403 ? err : null);
}

// A select of records of target, filled as one types in the search box beside it.
function refPicker(name, target, current, currentName) {
  const sel = h('select', { name, id: `f-${name}` }, h('option', { value: '' }, '—'),
    current ? h('option', { value: current, selected: true }, currentName || current) : null);
  const finder = h('input', { type: 'search', placeholder: t('type_to_search'), 'aria-label': `${fieldLabel(name)}: ${t('search')}`, class: 'finder' });
  let timer = null;
  finder.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const label = resources[target].label;
      const page = await api.get(`/v1/${target}`, { q: finder.value.trim() || undefined, limit: 20, lang, fields: `id,${label}` }).catch(() => null);
      if (!page) return;
      const keep = sel.value;
      fill(sel, h('option', { value: '' }, '—'), page.data.map((r) => h('option', { value: r.id }, labelOf(target, r))));
      if (keep && ![...sel.options].some((o) => o.value === keep)) sel.append(h('option', { value: keep }, currentName || keep));
      sel.value = keep || (page.data[0] ? page.data[0].id : '');
    }, 250);
  });
  return h('span', { class: 'ref' }, finder, sel);
}

function input(f, current, names) {
  const id = `f-${f.name}`;
  const v = current === undefined ? null : current;
  switch (f.kind) {
    case 'enum':
      return h('select', { name: f.name, id }, h('option', { value: '' }, f.required ? t('choose') : '—'),
        f.values.map((x) => h('option', { value: x, selected: x === v }, valueLabel(x))));
    case 'enums':
      return h('fieldset', { 'data-name': f.name, class: 'checks' }, f.values.map((x) => h('label', { class: 'check' },
        h('input', { type: 'checkbox', name: f.name, value: x, checked: (v || []).includes(x) }), valueLabel(x))));
    case 'bool': return h('input', { type: 'checkbox', name: f.name, id, checked: Boolean(v) });
    case 'number': return h('input', { type: 'number', step: 'any', name: f.name, id, value: v ?? '' });
    case 'date': return h('input', { type: 'date', name: f.name, id, value: v ?? '' });
    case 'email': return h('input', { type: 'email', name: f.name, id, value: v ?? '', maxlength: f.max });
    case 'url': return h('input', { type: 'url', name: f.name, id, value: v ?? '', maxlength: f.max });
    case 'password': return h('input', { type: 'password', name: f.name, id, autocomplete: 'new-password' });
    case 'long': return h('textarea', { name: f.name, id, rows: 4, maxlength: f.max }, v ?? '');
    case 'tags': return h('input', { type: 'text', name: f.name, id, value: (v || []).join(', '), placeholder: t('comma_separated') });
    case 'lines': return h('textarea', { name: f.name, id, rows: 3, placeholder: t('one_per_line') }, (v || []).join('\n'));
    case 'map': return h('textarea', { name: f.name, id, rows: 3, placeholder: t('scheme_lines') },
      Object.entries(v || {}).map(([k, x]) => `${k}: ${x}`).join('\n'));
    case 'ref': return refPicker(f.name, f.target, v, names[f.name]);
    case 'parties': return partiesEditor(f, v || [], names);
    case 'sections': return sectionsEditor(f, v || []);
    default: return h('input', { type: 'text', name: f.name, id, value: v ?? '', maxlength: f.max });
  }
}

function partiesEditor(f, parties, names) {
  const rows = h('div', { class: 'rows' });
  const add = (p) => {
    const row = h('div', { class: 'row party' },
      refPicker('organization_id', 'organizations', p && p.organization_id, p && names.orgs && names.orgs[p.organization_id]),
      h('select', { name: 'role' }, f.roles.map((r) => h('option', { value: r, selected: p && p.role === r }, valueLabel(r)))),
      h('button', { type: 'button', onclick: () => row.remove() }, t('remove')));
    rows.append(row);
  };
  parties.forEach(add);
  if (!parties.length) add(null);
  return h('div', { 'data-name': f.name, class: 'parties' }, rows,
    h('button', { type: 'button', onclick: () => add(null) }, t('add_party')));
}

function sectionsEditor(f, sections) {
  const rows = h('div', { class: 'rows' });
  const add = (s) => {
    const row = h('div', { class: 'row section-edit' },
      h('input', { type: 'text', name: 'heading', value: (s && s.heading) || '', placeholder: t('heading') }),
      h('textarea', { name: 'body', rows: 3, placeholder: t('body') }, (s && s.body) || ''),
      h('input', { type: 'text', name: 'heading_ar', value: (s && s.heading_ar) || '', placeholder: `${t('heading')} (ar)`, dir: 'rtl' }),
      h('textarea', { name: 'body_ar', rows: 3, placeholder: `${t('body')} (ar)`, dir: 'rtl' }, (s && s.body_ar) || ''),
      h('button', { type: 'button', onclick: () => row.remove() }, t('remove')));
    row.extra = Object.fromEntries(Object.entries(s || {}).filter(([k]) => !['heading', 'body', 'heading_ar', 'body_ar'].includes(k)));
    rows.append(row);
  };
  sections.forEach(add);
  return h('div', { 'data-name': f.name, class: 'sections' }, rows,
    h('button', { type: 'button', onclick: () => add(null) }, t('add_section')));
}

// The value a field's input holds now, in the API's terms (null: empty).
function read(form, f) {
  const el = form.querySelector(`[name="${f.name}"]`);
  const text = el && 'value' in el ? el.value.trim() : '';
  switch (f.kind) {
    case 'bool': return el.checked;
    case 'enums': return [...form.querySelectorAll(`[data-name="${f.name}"] input:checked`)].map((x) => x.value);
    case 'number': return text === '' ? null : Number(text);
    case 'tags': return text === '' ? [] : text.split(',').map((x) => x.trim()).filter(Boolean);
    case 'lines': return text === '' ? [] : text.split('\n').map((x) => x.trim()).filter(Boolean);
    case 'map': return Object.fromEntries(text.split('\n').map((l) => l.trim()).filter(Boolean).map((l) => {
      const i = l.indexOf(':');
      return i < 0 ? [l, ''] : [l.slice(0, i).trim(), l.slice(i + 1).trim()];
    }));
    case 'parties': return [...form.querySelectorAll(`[data-name="${f.name}"] .party`)].map((row) => ({
      organization_id: row.querySelector('[name=organization_id]').value, role: row.querySelector('[name=role]').value,
    })).filter((p) => p.organization_id);
    case 'sections': return [...form.querySelectorAll(`[data-name="${f.name}"] .section-edit`)].map((row) => {
      const s = { ...row.extra };
      for (const k of ['heading', 'body', 'heading_ar', 'body_ar']) {
        const x = row.querySelector(`[name=${k}]`).value.trim();
        if (x) s[k] = x;
      }
      return s;
    }).filter((s) => Object.keys(s).length);
    default: return text === '' ? null : text;
  }
}

const same = (a, b) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

// Create (id null) or edit a record of resource; base is where its routes live.
export async function form(ctx, resource, id, base = '/v1') {
  const creating = id === null;
  const fields = (await formFields(resource, creating, base)).filter((f) => creating || f.name !== 'password' || resource === 'users');
  let original = {};
  let etag = null;
  const names = { orgs: {} };
  if (!creating) {
    const r = await api.request('GET', `${base}/${resource}/${id}`, {});
    original = r.body;
    etag = r.headers.get('ETag');
  } else if (resource === 'monitoring-records' && ctx.params.get('partnership_id')) {
    original = { partnership_id: ctx.params.get('partnership_id') };
  }
  for (const [field, target] of Object.entries(references))
    if (original[field] && typeof original[field] === 'string') names[field] = (await namesOf(target, [original[field]]))[original[field]];
  if (original.organizations) names.orgs = await namesOf('organizations', original.organizations.map((o) => o.organization_id));
  const general = h('p', { 'data-role': 'form-error', class: 'error' });
  const el = h('form', { 'data-page': 'form', 'data-resource': resource, class: 'card', novalidate: true },
    h('h1', {}, `${t(resource)} · ${creating ? t('new') : t('edit')}`),
    fields.map((f) => h('div', { class: `field kind-${f.kind}` },
      h('label', { for: `f-${f.name}` }, fieldLabel(f.name), f.required ? ' *' : ''),
      input(f, original[f.name], names),
      h('span', { class: 'error', 'data-error-for': f.name }))),
    general,
    h('div', { class: 'actions' },
      h('button', { type: 'submit', class: 'primary' }, t('save')),
      h('a', { href: creating ? `#/${resource}` : `#/${resource}/${id}`, class: 'button' }, t('cancel'))));
  el.addEventListener('submit', async (e) => {
    e.preventDefault();
    const body = {};
    for (const f of fields) {
      const v = read(el, f);
      if (creating) {
        if (v !== null && !(Array.isArray(v) && !v.length) && !(f.kind === 'map' && !Object.keys(v).length) && !(f.kind === 'bool' && !v)) body[f.name] = v;
      } else if (f.kind === 'password') {
        if (v) body[f.name] = v;
      } else if (!same(v, original[f.name]) && !(v === false && original[f.name] == null)) {
        body[f.name] = v;
      }
    }
    try {
      const saved = creating ? await api.post(`${base}/${resource}`, body)
        : Object.keys(body).length ? await api.patch(`${base}/${resource}/${id}`, body, etag) : original;
      notice(t('saved'));
      ctx.go(resource === 'users' ? '#/users' : `#/${resource}/${saved.id}`);
    } catch (err) {
      showErrors(el, err, general);
    }
  });
  fill(ctx.app, el);
}

// ---------------------------------------------------------------- monitoring: to verify

export async function verify(ctx) {
  const me = api.session.me;
  const records = await api.all('/v1/monitoring-records', { status: 'submitted', sort: '-period_end' }, 3);
  const parts = await byIds('partnerships', records.map((m) => m.partnership_id), 'title,ministry_id');
  const mine = records.filter((m) => mayVerify(me, parts[m.partnership_id]));
  const rows = mine.map((m) => {
    const status = h('td', { dataset: { field: 'status' } }, valueLabel(m.status));
    const button = h('button', { type: 'button', 'data-action': 'verify', class: 'primary' }, t('verify_action'));
    const row = h('tr', { dataset: { id: m.id } },
      h('td', { dataset: { field: 'indicator' } }, link('monitoring-records', m.id, m.indicator)),
      h('td', {}, link('partnerships', m.partnership_id, labelOf('partnerships', parts[m.partnership_id]))),
      h('td', {}, `${value(m.period_start)} → ${value(m.period_end)}`),
      h('td', {}, `${value(m.actual)} / ${value(m.target)} ${m.unit || ''}`),
      status, h('td', {}, button));
    button.addEventListener('click', async () => {
      button.disabled = true;
      try {
        const done = await api.patch(`/v1/monitoring-records/${m.id}`, { status: 'verified' });
        row.dataset.status = done.status;
        status.textContent = t('verified');
        button.remove();
        notice(null);
      } catch (err) { button.disabled = false; notice(err); }
    });
    return row;
  });
  fill(ctx.app, h('section', { 'data-page': 'verify' }, heading(t('verify')),
    rows.length ? table([fieldLabel('indicator'), t('partnerships'), fieldLabel('period_end'), `${fieldLabel('actual')} / ${fieldLabel('target')}`, fieldLabel('status'), ''], rows)
      : h('p', { class: 'muted' }, t('none'))));
}

// ---------------------------------------------------------------- one's own password

export async function password(ctx) {
  const general = h('p', { 'data-role': 'form-error', class: 'error' });
  const el = h('form', { 'data-form': 'password', class: 'card narrow' }, h('h1', {}, t('change_password')),
    h('label', {}, t('current_password'), h('input', { type: 'password', name: 'current_password', required: true, autocomplete: 'current-password' }),
      h('span', { class: 'error', 'data-error-for': 'current_password' })),
    h('label', {}, t('new_password'), h('input', { type: 'password', name: 'new_password', required: true, autocomplete: 'new-password', minlength: 8 }),
      h('span', { class: 'error', 'data-error-for': 'new_password' })),
    general, h('button', { type: 'submit', class: 'primary' }, t('save')));
  el.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      await api.request('POST', '/v1/auth/password', { body: { current_password: el.current_password.value, new_password: el.new_password.value } });
      el.reset();
      for (const s of el.querySelectorAll('[data-error-for]')) s.textContent = '';
      general.textContent = '';
      notice(t('password_changed'));
    } catch (err) { showErrors(el, err, general); }
  });
  fill(ctx.app, el);
}

// ---------------------------------------------------------------- admin: users, keys, audit

export async function users(ctx) {
  const find = h('input', { type: 'search', name: 'email', placeholder: t('email'), 'aria-label': t('email'), value: ctx.params.get('email') || '' });
  const rows = paged(ctx, [t('email'), t('role'), `${fieldLabel('organization_id')} / ${fieldLabel('ministry_id')}`, fieldLabel('active'), ''],
    async (cursor) => {
      const page = await api.get('/v1/users', { sort: 'email', limit: 50, cursor, 'email.contains': find.value.trim() || undefined });
      page.orgs = await namesOf('organizations', page.data.map((u) => u.organization_id));
      page.mins = await namesOf('ministries', page.data.map((u) => u.ministry_id));
      return page;
    },
    (u, page) => h('tr', { dataset: { id: u.id } },
      h('td', { dataset: { field: 'email' } }, h('a', { href: `#/users/${u.id}/edit` }, u.email)),
      h('td', {}, valueLabel(u.role)),
      h('td', {}, u.organization_id ? link('organizations', u.organization_id, page.orgs[u.organization_id])
        : u.ministry_id ? link('ministries', u.ministry_id, page.mins[u.ministry_id]) : '—'),
      h('td', {}, value(u.active)),
      h('td', {}, h('a', { href: `#/audit-log?actor_id=${u.id}` }, t('audit')))));
  asYouType(ctx, find, rows.restart);
  fill(ctx.app, h('section', { 'data-page': 'users' },
    heading(t('users'), h('a', { href: '#/users/new', 'data-action': 'new', class: 'button primary' }, t('new'))),
    h('div', { class: 'toolbar' }, find), rows.table, rows.pager));
  await rows.restart();
}

export async function apiKeys(ctx) {
  const fields = await formFields('api-keys', true);
  const roles = (fields.find((f) => f.name === 'role') || { values: ['analyst', 'partner', 'admin'] }).values;
  const list = await api.all('/v1/api-keys', { sort: '-created_at' }, 3);
  const secret = h('div', { class: 'secret', hidden: true });
  const general = h('p', { 'data-role': 'form-error', class: 'error' });
  const el = h('form', { 'data-form': 'new-key', class: 'card' }, h('h2', {}, t('new_key')),
    h('label', {}, fieldLabel('name'), h('input', { name: 'name', type: 'text', required: true, maxlength: 200 }), h('span', { class: 'error', 'data-error-for': 'name' })),
    h('label', {}, t('role'), h('select', { name: 'role' }, roles.map((r) => h('option', { value: r }, valueLabel(r)))), h('span', { class: 'error', 'data-error-for': 'role' })),
    h('label', {}, fieldLabel('source'), h('input', { name: 'source', type: 'text', required: true, maxlength: 64, value: 'sharaka' }), h('span', { class: 'error', 'data-error-for': 'source' })),
    general, h('button', { type: 'submit', class: 'primary' }, t('new_key')), secret);
  el.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      const made = await api.post('/v1/api-keys', { name: el.name.value.trim(), role: el.role.value, source: el.source.value.trim() });
      fill(secret, h('p', {}, t('secret_once')), h('code', { 'data-role': 'secret' }, made.key));
      secret.hidden = false;
      general.textContent = '';
      body.prepend(keyRow(made));
    } catch (err) { showErrors(el, err, general); }
  });
  const keyRow = (k) => {
    const revoke = h('button', { type: 'button', 'data-action': 'revoke', class: 'danger', disabled: Boolean(k.revoked_at) }, k.revoked_at ? t('revoked') : t('revoke'));
    revoke.addEventListener('click', async () => {
      if (!(await confirmDialog(t('confirm_revoke'), { cancel: t('cancel'), confirm: t('revoke') }))) return;
      try {
        await api.del(`/v1/api-keys/${k.id}`);
        revoke.disabled = true;
        revoke.textContent = t('revoked');
        revoke.closest('tr').dataset.revoked = 'true';
      } catch (err) { notice(err); }
    });
    return h('tr', { dataset: { id: k.id } }, h('td', { dataset: { field: 'name' } }, k.name), h('td', {}, valueLabel(k.role)),
      h('td', {}, k.source), h('td', {}, h('code', {}, `${k.prefix}…`)), h('td', {}, value(k.last_used_at, 'last_used_at')), h('td', {}, revoke));
  };
  const body = h('tbody', {}, list.map(keyRow));
  fill(ctx.app, h('section', { 'data-page': 'api-keys' }, heading(t('api-keys')), el,
    h('table', {}, h('thead', {}, h('tr', {}, [fieldLabel('name'), t('role'), fieldLabel('source'), fieldLabel('prefix'), fieldLabel('last_used_at'), ''].map((c) => h('th', {}, c)))), body)));
}

export async function audit(ctx) {
  const query = { sort: '-at', limit: 50 };
  for (const k of ['resource', 'record_id', 'actor_id']) if (ctx.params.get(k)) query[k] = ctx.params.get(k);
  const action = h('select', { name: 'action', 'aria-label': t('action') }, h('option', { value: '' }, `${t('action')}: ${t('any')}`),
    ['create', 'update', 'delete', 'restore'].map((v) => h('option', { value: v }, valueLabel(v))));
  const changed = (e) => {
    const before = e.before || {}, after = e.after || {};
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])]
      .filter((k) => !same(before[k], after[k]) && !['id', 'version', 'created_at', 'updated_at'].includes(k) && !(e.action === 'create' && after[k] == null));
    const shown = keys.slice(0, 8).map((k) => h('div', {}, h('strong', {}, `${fieldLabel(k)}: `),
      e.action === 'create' ? value(after[k], k) : `${value(before[k], k)} → ${value(after[k], k)}`));
    return keys.length > 8 ? [...shown, h('div', { class: 'muted' }, `+${keys.length - 8}`)] : shown;
  };
  const rows = paged(ctx, [t('at'), t('actor'), t('action'), t('record'), t('changes')],
    (cursor) => api.get('/v1/audit-log', { ...query, action: action.value || undefined, cursor }),
    (e) => h('tr', { dataset: { id: e.id } },
      h('td', {}, value(e.at, 'at')), h('td', {}, `${e.actor_role} · ${e.actor_id}`),
      h('td', { dataset: { field: 'action' } }, valueLabel(e.action)),
      h('td', {}, resources[e.resource] ? link(e.resource, e.record_id, `${t(e.resource)} · ${e.record_id.slice(0, 8)}`) : `${e.resource} · ${e.record_id}`),
      h('td', { class: 'changes' }, changed(e))));
  action.addEventListener('change', rows.restart);
  fill(ctx.app, h('section', { 'data-page': 'audit-log' },
    heading(t('audit-log')),
    h('p', { class: 'muted' }, Object.entries(query).filter(([k]) => !['sort', 'limit'].includes(k)).map(([k, v]) => `${fieldLabel(k)}: ${v}`).join(' · ')),
    h('div', { class: 'toolbar' }, action), rows.table, rows.pager));
  await rows.restart();
}
