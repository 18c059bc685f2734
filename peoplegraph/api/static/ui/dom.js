// Building the page: h() makes elements (text always as text, never as HTML), toast() says what an action did.

export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") element.addEventListener(name.slice(2), value);
    else if (name === "class") element.className = value;
    else if (name === "dataset") Object.assign(element.dataset, value);
    else if (value === true) element.setAttribute(name, "");
    else element.setAttribute(name, String(value));
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function replace(element, ...children) {
  element.replaceChildren();
  append(element, children);
  return element;
}

const TOAST_MS = 8000;
const TOASTS_SHOWN = 3;  // older messages make way

// A message in the polite live region; `undo` adds a button that runs it (and closes the message). A message
// that offers Undo stays until dismissed (or three newer ones push it out): no time limit to reach it.
export function toast(message, { undo = null, error = false } = {}) {
  const region = document.getElementById("toasts");
  const close = () => item.remove();
  const item = h("div", { class: error ? "toast toast-error" : "toast", role: error ? "alert" : "status" },
    h("span", {}, message),
    undo && h("button", { type: "button", class: "link", onclick: () => { close(); undo(); } }, "Undo"),
    h("button", { type: "button", class: "link", "aria-label": "Dismiss", onclick: close }, "×"));
  region.append(item);
  while (region.children.length > TOASTS_SHOWN) region.firstElementChild.remove();
  if (!error && !undo) setTimeout(close, TOAST_MS);
  return item;
}

export function showError(error) {
  toast(error && error.message ? error.message : String(error), { error: true });
}

export function debounce(fn, ms = 200) {
  let timer = null;
  return (...args) => { clearTimeout(timer); timer = setTimeout(() => fn(...args), ms); };
}

export function plural(count, one, many = `${one}s`) { return `${count} ${count === 1 ? one : many}`; }

// True when a key press belongs to a text field (shortcuts must leave typing alone).
export function typing(event) {
  const target = event.target;
  return target instanceof HTMLElement && (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName));
}

let fields = 0;

// A labelled field: the label above its input, tied by id (`help` becomes the input's description).
export function field(label, input, help = "") {
  if (!input.id) input.id = `field-${++fields}`;
  const helpId = help ? `${input.id}-help` : null;
  if (helpId) input.setAttribute("aria-describedby", helpId);
  return h("div", { class: "field" }, h("label", { for: input.id }, label), input,
    help && h("span", { class: "help", id: helpId }, help));
}
