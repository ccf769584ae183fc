// Building and updating the page. Everything from the API (crash reports, names) goes in as text nodes, never as
// HTML, so a hostile target's output cannot script the dashboard.

const SVG = 'http://www.w3.org/2000/svg';

function build(element, attrs, children) {
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    element.setAttribute(name, value === true ? '' : String(value));
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(element, child);
    else element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** An HTML element: h('a', { href: '#/' }, 'text', child, [more]). */
export const h = (tag, attrs, ...children) => build(document.createElement(tag), attrs, children);

/** An SVG element, as h. */
export const s = (tag, attrs, ...children) => build(document.createElementNS(SVG, tag), attrs, children);

/**
 * Makes `current` look like `next` (same tag) by changing only what differs, so a refresh every few seconds keeps
 * focus, selection, scroll position and open <details>. Elements with different `data-key`s are replaced, not
 * patched; elements marked `data-keep` are left alone once drawn (a form being filled in).
 */
export function morph(current, next) {
  if (current.nodeName === 'DETAILS' && next.nodeName === 'DETAILS') next.open = current.open;
  for (const { name } of [...current.attributes]) {
    if (!next.hasAttribute(name)) current.removeAttribute(name);
  }
  for (const { name, value } of [...next.attributes]) {
    if (current.getAttribute(name) !== value) current.setAttribute(name, value);
  }
  const before = [...current.childNodes];
  const after = [...next.childNodes];
  after.forEach((child, i) => {
    const old = before[i];
    if (!old) current.append(child);
    else if (!sameKind(old, child)) current.replaceChild(child, old);
    else if (old.nodeType === Node.TEXT_NODE) {
      if (old.nodeValue !== child.nodeValue) old.nodeValue = child.nodeValue;
    } else if (old.nodeType === Node.ELEMENT_NODE && !old.hasAttribute('data-keep')) morph(old, child);
  });
  for (const old of before.slice(after.length)) old.remove();
}

function sameKind(a, b) {
  if (a.nodeType !== b.nodeType || a.nodeName !== b.nodeName) return false;
  return a.nodeType !== Node.ELEMENT_NODE || a.getAttribute('data-key') === b.getAttribute('data-key');
}
