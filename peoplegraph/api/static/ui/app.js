// The editor's application: signing in with a key, choosing a project, and the sections of the review
// (#/clusters, #/review, #/people, #/upload, #/links), each a module with one `render(main, context, ...args)`.
import { api, ApiError, setCsrf } from "./api.js";
import { h, replace, showError } from "./dom.js";

const SECTIONS = {
  clusters: () => import("./clusters.js"),
  review: () => import("./queue.js"),
  people: () => import("./people.js"),
  upload: () => import("./upload.js"),
  links: () => import("./links.js"),
};
const TITLES = { clusters: "Clusters", review: "Review queue", people: "People", upload: "Upload", links: "Share links" };
const PROJECT_STORE = "peoplegraph.project";

const main = document.getElementById("main");
const context = {
  session: null,
  project: null,
  base: "",  // /projects/<project>
  go(hash) { if (location.hash === hash) route(); else location.hash = hash; },
};
let cleanup = null;  // the section's own teardown (key handlers, event streams)

async function start() {
  document.getElementById("sign-out").addEventListener("click", signOut);
  window.addEventListener("hashchange", route);
  try {
    const { body } = await api("/session");
    await signedIn(body);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) signInForm();
    else showError(error);
  }
}

function signInForm(message = "") {
  document.getElementById("bar").hidden = true;
  const key = h("input", { id: "key", name: "key", type: "password", autocomplete: "current-password", required: true,
    "aria-describedby": "key-help" });
  const status = h("p", { class: "error", role: "alert" }, message);
  const form = h("form", { class: "card sign-in", onsubmit: async (event) => {
    event.preventDefault();
    status.textContent = "";
    try {
      const { body } = await api("/session", { method: "POST", json: { key: key.value } });
      key.value = "";
      await signedIn(body);
    } catch (error) { status.textContent = error.message; }
  } },
  h("h1", {}, "Sign in to peoplegraph"),
  h("label", { for: "key" }, "API key"), key,
  h("p", { id: "key-help", class: "muted" }, "A project key from your project's owner, or the admin key the first ",
    h("code", {}, "peoplegraph serve"), " printed. It is sent once; the browser keeps a session."),
  status,
  h("button", { type: "submit", class: "primary" }, "Sign in"));
  replace(main, form);
  key.focus();
}

async function signedIn(session) {
  context.session = session;
  setCsrf(session.csrf);
  document.getElementById("who").textContent = `${session.name} · ${session.role}`;
  document.body.dataset.role = session.role;  // a viewer is not offered what only editors may do (.edit-only)
  const { body: projects } = await api("/projects");
  const names = projects.map((p) => p.name);
  const remembered = localStorage.getItem(PROJECT_STORE);
  const project = session.project || (names.includes(remembered) ? remembered : names.length === 1 ? names[0] : null);
  if (project) return openProject(project);
  chooseProject(names);
}

function chooseProject(names) {
  document.getElementById("bar").hidden = true;
  replace(main, h("section", { class: "card sign-in" },
    h("h1", {}, "Choose a project"),
    names.length ? h("ul", { class: "plain" }, names.map((name) =>
      h("li", {}, h("button", { type: "button", class: "link big", onclick: () => openProject(name) }, name))))
      : h("p", {}, "This key reaches no project yet: ", h("code", {}, "peoplegraph ingest PHOTOS --project NAME"),
        " makes one.")));
}

function openProject(project) {
  context.project = project;
  context.base = `/projects/${encodeURIComponent(project)}`;
  localStorage.setItem(PROJECT_STORE, project);
  document.getElementById("bar").hidden = false;
  document.querySelector(".brand").textContent = `peoplegraph · ${project}`;
  if (!location.hash || location.hash === "#/") location.hash = "#/clusters";
  else route();
}

let shown = 0;  // which call of route() the page shows: a section still loading when another is asked for yields

async function route() {
  if (!context.project) return;
  const mine = ++shown;
  const [section = "clusters", ...args] = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  const load = SECTIONS[section];
  if (!load) { context.go("#/clusters"); return; }
  for (const link of document.querySelectorAll("nav a")) {
    if (link.dataset.section === section) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  if (cleanup) { cleanup(); cleanup = null; }
  // each call draws into its own element: a superseded one goes on drawing, but out of sight
  const view = h("div", { class: "view" });
  replace(main, view);
  try {
    const module = await load();
    document.title = `${TITLES[section]} · ${context.project} · peoplegraph`;  // a section may name itself better
    const done = (await module.render(view, context, ...args)) || null;
    if (mine === shown) {
      cleanup = done;
      arrived(view);
    } else if (done) done();  // another section was asked for while this one loaded: its key handlers go
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) signInForm("Your session has ended: sign in again.");
    else showError(error);
  }
}

// After moving to a section, a keyboard or screen-reader user starts at its heading, not on the link left
// behind (unless the section put focus somewhere of its own).
function arrived(view) {
  const active = document.activeElement;
  if (active && active !== document.body && !active.closest("nav")) return;
  const heading = view.querySelector("h1");
  if (!heading) return;
  heading.tabIndex = -1;
  heading.focus({ preventScroll: true });
}

async function signOut() {
  try { await api("/session", { method: "DELETE" }); } catch (error) { showError(error); }
  context.session = context.project = null;
  setCsrf("");
  if (cleanup) { cleanup(); cleanup = null; }
  history.replaceState(null, "", "/");
  signInForm();
}

start();
