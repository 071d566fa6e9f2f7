// dom.js - building the page without markup strings: every text goes in as a text node, so
// nothing a record holds is ever read as HTML.

// h('a', {href: '#/x', dataset: {id}}, 'text', child...): an element. Attributes whose value is
// null, undefined or false are left out; true sets an empty attribute; "on..." functions listen.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'value') el.value = v;
    else if (k === 'checked') el.checked = Boolean(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

// Empties el and fills it with children.
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// Asks a yes/no question in the page's own dialog; resolves true on confirm.
export function confirmDialog(question, labels) {
  const dialog = document.getElementById('confirm');
  dialog.querySelector('[data-role=question]').textContent = question;
  dialog.querySelector('[data-action=cancel]').textContent = labels.cancel;
  dialog.querySelector('[data-action=confirm]').textContent = labels.confirm;
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'confirm'),
      { once: true });
    dialog.returnValue = '';
    dialog.showModal();
  });
}

// Saves a Blob under a file name, through a link the page clicks (no new window, no other origin).
export function saveBlob(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = h('a', { href: url, download: name, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}
