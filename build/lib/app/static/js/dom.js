// Tiny DOM helpers. Data only ever goes in through textContent, never as HTML.

export function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text != null) node.textContent = text;
  return node;
}

export function byId(id) {
  const node = document.getElementById(id);
  if (!node) throw new Error(`#${id} is missing from the page`);
  return node;
}

export function showMessage(node, text, { error = false } = {}) {
  node.textContent = text ?? "";
  node.classList.toggle("form-error", error);
}
