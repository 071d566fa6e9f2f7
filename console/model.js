// model.js - what the console knows about the resources: the columns and filters it shows, the
// forms it draws from the API's own OpenAPI document (so a field the server adds appears without
// a change here), and what the signed-in role may do (the access table of the API, so that an
// action the server would refuse is not offered; the server decides all the same).

import { get } from './api.js';

export const resources = {
  organizations: {
    label: 'name', columns: ['name', 'acronym', 'kind', 'governorate', 'status'],
    filters: ['kind', 'status', 'governorate'], sorts: ['name', '-created_at', '-updated_at', 'founded_on'],
  },
  ministries: {
    label: 'name', columns: ['name', 'acronym', 'kind', 'governorate', 'status'],
    filters: ['kind', 'status', 'governorate'], sorts: ['name', '-created_at', '-updated_at'],
  },
  'partnership-types': {
    label: 'name', columns: ['code', 'name', 'financial', 'engagement_level'],
    filters: ['engagement_level'], sorts: ['code', 'name', '-created_at'],
  },
  partnerships: {
    label: 'title', columns: ['title', 'status', 'start_date', 'end_date', 'amount', 'currency'],
    filters: ['status', 'instrument', 'governorates'],
    sorts: ['title', '-start_date', 'start_date', '-amount', '-created_at', '-updated_at'],
  },
  charters: {
    label: 'title', columns: ['title', 'kind', 'status', 'adopted_on'],
    filters: ['kind', 'status'], sorts: ['title', '-adopted_on', '-created_at'],
  },
  'monitoring-records': {
    label: 'indicator', columns: ['indicator', 'period_start', 'period_end', 'rating', 'status'],
    filters: ['rating', 'status'], sorts: ['-period_end', 'period_end', '-created_at', '-updated_at'],
  },
};

// The resource a reference field names.
export const references = {
  type_id: 'partnership-types', ministry_id: 'ministries', parent_id: 'ministries',
  partnership_id: 'partnerships', organization_id: 'organizations',
};

// ---------------------------------------------------------------- the OpenAPI document

let spec = null;
export async function loadSpec() {
  if (!spec) spec = get('/openapi.json');
  return spec;
}

function resolve(doc, schema) {
  let s = schema;
  for (let i = 0; s && s.$ref && i < 8; i++)
    s = s.$ref.split('/').slice(1).reduce((o, k) => o[k], doc);
  return s;
}

function bodySchema(doc, path, method) {
  const op = doc.paths[path] && doc.paths[path][method];
  const media = op && op.requestBody && op.requestBody.content['application/json'];
  return media ? resolve(doc, media.schema) : null;
}

// The fields of a create (or patch) form: [{name, schema, required, kind, ...}] in the API's
// order; kind says which input draws it.
export async function formFields(resource, creating, base = '/v1') {
  const doc = await loadSpec();
  const path = creating ? `${base}/${resource}` : `${base}/${resource}/{id}`;
  const schema = bodySchema(doc, path, creating ? 'post' : 'patch');
  if (!schema) return [];
  const required = new Set(schema.required || []);
  return Object.entries(schema.properties || {})
    .filter(([name]) => !(creating && name === 'id'))
    .map(([name, raw]) => describe(doc, name, resolve(doc, raw), required.has(name)));
}

function enumOf(s) {
  if (!s) return null;
  if (s.enum) return s.enum.filter((v) => v !== null);
  for (const alt of s.anyOf || s.oneOf || []) {
    const e = enumOf(alt);
    if (e) return e;
  }
  return null;
}

function describe(doc, name, s, required) {
  const types = [].concat(s.type || []);
  const f = { name, required, nullable: types.includes('null'), max: s.maxLength, schema: s };
  const values = enumOf(s);
  const item = s.items ? resolve(doc, s.items) : null;
  if (name === 'organizations' && item) f.kind = 'parties', f.roles = enumOf(resolve(doc, item.properties.role));
  else if (name === 'sections') f.kind = 'sections';
  else if (values) f.kind = 'enum', f.values = values;
  else if (types.includes('array') && item && enumOf(item)) f.kind = 'enums', f.values = enumOf(item);
  else if (types.includes('array') && item && item.format === 'uri') f.kind = 'lines';
  else if (types.includes('array')) f.kind = 'tags';
  else if (types.includes('object')) f.kind = 'map';
  else if (types.includes('boolean')) f.kind = 'bool';
  else if (types.includes('number') || types.includes('integer')) f.kind = 'number';
  else if (s.format === 'date') f.kind = 'date';
  else if (s.format === 'email') f.kind = 'email';
  else if (s.format === 'password') f.kind = 'password';
  else if (s.format === 'uri') f.kind = 'url';
  else if (references[name] || name === 'party_id') f.kind = 'ref', f.target = references[name];
  else if ((s.maxLength || 0) > 500) f.kind = 'long';
  else f.kind = 'text';
  return f;
}

// The values a list filter takes, from the list operation's parameter of that name.
export async function filterValues(resource, field) {
  const doc = await loadSpec();
  const op = doc.paths[`/v1/${resource}`] && doc.paths[`/v1/${resource}`].get;
  const p = (op ? op.parameters : []).map((x) => resolve(doc, x)).find((x) => x.name === field);
  if (!p) return null;
  return enumOf(p.schema.items || p.schema) || (p.schema.type === 'boolean' ? ['true', 'false'] : null);
}

// ---------------------------------------------------------------- what the role may do

export const isAdmin = (me) => me && me.role === 'admin';

function takesPart(me, p) {
  if (!me || !p) return false;
  return (me.ministry_id && p.ministry_id === me.ministry_id) ||
    (me.organization_id && (p.organizations || []).some((o) => o.organization_id === me.organization_id));
}

export function mayCreate(me, resource) {
  if (isAdmin(me)) return true;
  return me && me.role === 'editor' && (resource === 'partnerships' || resource === 'monitoring-records');
}

// record: the record; context: for a monitoring record, its partnership.
export function mayEdit(me, resource, record, context) {
  if (isAdmin(me)) return true;
  if (!me || me.role !== 'editor' || !record) return false;
  switch (resource) {
    case 'organizations': return record.id === me.organization_id;
    case 'ministries': return record.id === me.ministry_id;
    case 'partnerships': return takesPart(me, record);
    case 'monitoring-records':
      return takesPart(me, context) && (record.status !== 'verified' || mayVerify(me, context));
    default: return false;
  }
}

export const mayDelete = (me) => isAdmin(me);

export function mayVerify(me, partnership) {
  if (isAdmin(me)) return true;
  return Boolean(me && me.role === 'editor' && me.ministry_id && partnership &&
    partnership.ministry_id === me.ministry_id);
}

// The party an editor signs for: {party_type, party_id}, or null.
export function ownParty(me) {
  if (!me || me.role !== 'editor') return null;
  if (me.organization_id) return { party_type: 'organization', party_id: me.organization_id };
  if (me.ministry_id) return { party_type: 'ministry', party_id: me.ministry_id };
  return null;
}

export const readsInternal = (me) => Boolean(me && me.role !== 'partner');
