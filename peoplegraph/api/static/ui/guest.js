// A guest's page for a share link (/share/<token>): the link's password when it has one, a selfie (the camera
// or a photo), then the photos that person is in, to open large and download one by one or all as a zip.
// Nothing else of the project is shown: the guest API answers nothing else. The password and the selfie stay
// in this page's memory; nothing is stored in the browser.
import { api, ApiError } from "./api.js";
import { h, plural, replace } from "./dom.js";

const token = location.pathname.split("/").filter(Boolean)[1] || "";
const base = `/share/${encodeURIComponent(token)}`;
const view = document.getElementById("view");
const title = document.getElementById("title");
const status = document.getElementById("status");
const SCOPES = {
  project: "every photo you are in",
  event: "every photo of this event you are in",
  album: "every photo of this album you are in",
};
const SHRINK_OVER_BYTES = 1.5 * 1024 * 1024;  // phone photos: send a smaller copy, the server detects at 1600 px
const SHRINK_TO_SIDE = 1600;
const state = { about: null, password: "", selfie: null, preview: "", photos: [] };

function say(text) { status.textContent = text; }

// The server's own words, but a guest is not told about `peoplegraph serve` when their connection drops.
function why(error) {
  if (error instanceof ApiError && error.status === 0) return "The server cannot be reached: check your connection and try again.";
  return error.message;
}

async function start() {
  try {
    const { body } = await api(`${base}/about`);
    state.about = body;
  } catch (error) {
    return broken(error);
  }
  if (state.about.has_password) passwordStep();
  else pickStep();
}

// A link that does not work (unknown, revoked, expired) shows why and nothing else.
function broken(error) {
  const gone = error instanceof ApiError && error.status === 404;
  title.textContent = gone ? "This link does not work" : "This page cannot load right now";
  document.title = title.textContent;
  say("");
  replace(view, h("div", { class: "notice notice-error", role: "alert" }, h("p", {}, why(error)),
    !gone && h("button", { type: "button", onclick: () => location.reload() }, "Try again")));
}

// A header carries ASCII only: the password goes as RFC 8187's UTF-8'' form, whatever its characters.
function passwordHeader(password) {
  return { "X-Share-Password": `UTF-8''${encodeURIComponent(password)}` };
}

function passwordStep(message = "") {
  const input = h("input", { id: "password", type: "password", autocomplete: "off", autocapitalize: "none",
    spellcheck: "false", required: true, "aria-describedby": "password-help password-error",
    "aria-invalid": message ? "true" : null });
  const error = h("p", { id: "password-error", class: "error", role: "alert" }, message);
  const submit = h("button", { type: "submit", class: "primary" }, "Continue");
  const form = h("form", { class: "password card", onsubmit: async (event) => {
    event.preventDefault();
    submit.disabled = true;
    error.textContent = "";
    say("Checking the password…");
    try {
      await api(`${base}/about`, { headers: passwordHeader(input.value) });
      state.password = input.value;
      say("");
      pickStep();
      document.getElementById("camera").focus();
    } catch (failure) {
      say("");
      if (failure instanceof ApiError && failure.status === 404) return passwordOrBroken(failure);
      submit.disabled = false;
      error.textContent = why(failure);
    }
  } },
  h("label", { for: "password" }, "Password"),
  h("p", { id: "password-help", class: "muted" }, "This link has a password: whoever shared it can tell you."),
  input, error, submit);
  replace(view, form);
  input.focus();
  if (message) input.select();
}

// A 404 after the link opened: a wrong password, or the link has ended since (revoked, expired).
async function passwordOrBroken(failure) {
  try {
    state.about = (await api(`${base}/about`)).body;
  } catch (error) {
    return broken(error);
  }
  if (!state.about.has_password) return pickStep(notice("The search did not work.", failure.message, { error: true }));
  state.password = "";
  passwordStep(failure.message);
}

function intro() {
  const { scope, expires_at: expires } = state.about;
  const until = expires ? new Date(expires) : null;
  return h("div", { class: "intro" },
    h("p", {}, `Take a selfie or choose a photo of yourself to see ${SCOPES[scope] || SCOPES.project}.`),
    h("p", { class: "muted" }, "Your selfie is only used for this search: it is not kept."),
    until && !Number.isNaN(until.getTime()) && h("p", { class: "muted" },
      `This link works until ${until.toLocaleString(undefined, { dateStyle: "long", timeStyle: "short" })}.`));
}

// Icons drawn inline (an emoji needs a font the phone may lack); decorative, so hidden from screen readers.
const ICONS = {
  camera: "M9 4 7.2 6H4a2 2 0 0 0-2 2v10a2 2 0 0 0 2 2h16a2 2 0 0 0 2-2V8a2 2 0 0 0-2-2h-3.2L15 4H9Zm3 4.5a4.5 4.5 0 1 1 "
    + "0 9 4.5 4.5 0 0 1 0-9Zm0 2a2.5 2.5 0 1 0 0 5 2.5 2.5 0 0 0 0-5Z",
  photo: "M4 4h16a2 2 0 0 1 2 2v12a2 2 0 0 1-2 2H4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2Zm0 2v9.6l4.3-4.3a1 1 0 0 1 1.4 0l3.3 "
    + "3.3 2.3-2.3a1 1 0 0 1 1.4 0L20 15.6V6H4Zm11.5 1.5a1.75 1.75 0 1 1 0 3.5 1.75 1.75 0 0 1 0-3.5Z",
};

function icon(name) {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("class", "icon");
  const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
  path.setAttribute("d", ICONS[name]);
  path.setAttribute("fill", "currentColor");
  svg.append(path);
  return svg;
}

function pickers(again = false) {
  const picker = (id, label, iconName, attributes) => [
    h("input", { id, type: "file", accept: "image/*", class: "visually-hidden", ...attributes,
      onchange: (event) => {
        const file = event.target.files[0];
        event.target.value = "";  // choosing the same file again is a new search
        if (file) chosen(file);
      } }),
    h("label", { for: id, class: id === "camera" ? "button primary" : "button" },
      icon(iconName), label)];
  return h("div", { class: "pickers" },
    picker("camera", again ? "Take another selfie" : "Take a selfie", "camera", { capture: "user" }),
    picker("library", again ? "Choose another photo" : "Choose a photo", "photo", {}));
}

function selfie() {
  return state.preview && h("figure", { class: "selfie" }, h("img", { src: state.preview, alt: "Your selfie" }),
    h("figcaption", {}, "Your selfie"));
}

// The start, and where a search that found nothing or failed leaves the guest: `notice` says why.
function pickStep(reason = null) {
  replace(view, reason || intro(), selfie(), pickers(Boolean(state.preview)), reason && reason.retry);
  if (reason) reason.focus();
}

function notice(headline, detail, { error = false, retry = false } = {}) {
  const box = h("div", { class: error ? "notice notice-error" : "notice", role: error ? "alert" : "status",
    tabindex: "-1" }, h("strong", {}, headline), detail && h("p", {}, detail));
  if (retry) box.retry = h("button", { type: "button", class: "primary", onclick: search }, "Try again");
  return box;
}

function chosen(file) {
  if (state.preview) URL.revokeObjectURL(state.preview);
  state.selfie = file;
  state.preview = URL.createObjectURL(file);
  search();
}

async function search() {
  replace(view, selfie(), h("button", { type: "button", class: "primary", disabled: true },
    h("span", { class: "spinner", "aria-hidden": "true" }), "Searching…"));
  say("Looking for you in the photos… this takes a few seconds.");
  const form = new FormData();
  form.append("selfie", await shrunk(state.selfie), state.selfie.name || "selfie.jpg");
  const headers = state.password ? passwordHeader(state.password) : {};
  try {
    const { body } = await api(`${base}/search`, { method: "POST", form, headers });
    state.photos = body.photos;
    say("");  // the results' heading takes the focus, and is read out
    if (body.photos.length) results();
    else pickStep(notice("Nobody in these photos matches your selfie.",
      "Try another selfie: your face alone, towards the camera, in good light."));
  } catch (error) {
    say("");
    searchFailed(error);
  }
}

function searchFailed(error) {
  if (error instanceof ApiError && error.status === 404) return passwordOrBroken(error);
  if (error instanceof ApiError && error.status === 400) {  // no face in the selfie, or not an image
    // the server names the file first ("IMG_1234.jpg: no face found..."): the guest knows which photo it was
    const said = error.message.replace(/^[^:]{1,260}: /, "");
    return pickStep(notice(said, "Try another photo where your face is clear and looks at the camera.",
      { error: true }));
  }
  pickStep(notice("The search did not work.", why(error), { error: true, retry: true }));
}

// A large phone photo is sent as a smaller JPEG (faster on a phone's connection); the original when that fails.
async function shrunk(file) {
  if (file.size <= SHRINK_OVER_BYTES || !window.createImageBitmap) return file;
  try {
    const bitmap = await createImageBitmap(file);
    const scale = Math.min(1, SHRINK_TO_SIDE / Math.max(bitmap.width, bitmap.height));
    const canvas = h("canvas", { width: Math.round(bitmap.width * scale), height: Math.round(bitmap.height * scale) });
    canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    bitmap.close();
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.92));
    return blob && blob.size < file.size ? blob : file;
  } catch {
    return file;
  }
}

function results() {
  const count = state.photos.length;
  const heading = h("h2", { id: "count", tabindex: "-1" }, `You are in ${plural(count, "photo")}`);
  const zip = h("button", { type: "button", class: "primary", onclick: () => downloadAll(zip) },
    "Download all (zip)");
  replace(view,
    h("div", { class: "results-head" }, h("img", { src: state.preview, alt: "Your selfie" }), heading),
    h("div", { class: "actions" }, zip, h("button", { type: "button", onclick: searchAgain }, "Search again")),
    h("ul", { class: "gallery", "aria-labelledby": "count" }, state.photos.map((photo, index) =>
      h("li", {}, h("button", { type: "button", "aria-label": `Open photo ${index + 1} of ${count}`,
        onclick: () => openPhoto(index) },
      h("img", { src: photo.thumbnail, alt: `Photo ${index + 1} of ${count}`, loading: "lazy", decoding: "async",
        width: 256, height: 256 }))))));
  heading.focus();
}

function searchAgain() {
  if (state.preview) URL.revokeObjectURL(state.preview);
  Object.assign(state, { selfie: null, preview: "", photos: [] });
  say("");
  pickStep();
  document.getElementById("camera").focus();
}

// "<photo id>/<signature>" as the export wants it, from a photo's signed URL.
function exportEntry(photo) {
  const [, photoId, signature] = photo.download.match(/\/photos\/([^/]+)\/([^/]+)\/original/) || [];
  return `${photoId}/${signature}`;
}

async function downloadAll(button) {
  button.disabled = true;
  say(`Preparing a zip of ${plural(state.photos.length, "photo")}…`);
  try {
    const response = await fetch(`${base}/export`, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/zip, application/json" },
      body: JSON.stringify({ photos: state.photos.map(exportEntry) }) });
    if (!response.ok) throw new ApiError(response.status, await refusal(response), null);
    save(await response.blob(), "photos.zip");
    say(`The zip of ${plural(state.photos.length, "photo")} is downloading.`);
  } catch (error) {
    say(`The zip did not work: ${error instanceof ApiError ? error.message : why(new ApiError(0, "", null))}`);
  } finally {
    button.disabled = false;
  }
}

async function refusal(response) {
  try {
    return (await response.json()).detail || `${response.status} ${response.statusText}`;
  } catch {
    return `${response.status} ${response.statusText}`;
  }
}

function save(blob, name) {
  const url = URL.createObjectURL(blob);
  const link = h("a", { href: url, download: name, class: "visually-hidden" });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);  // the download has its own copy by then
}

let viewer = null;  // made at the first photo opened: a link that does not work has no photo viewer at all

function openPhoto(index) {
  viewer = viewer || photoViewer();
  viewer.open(index);
}

// One photo large in a modal dialog: previous/next (buttons, arrow keys, a swipe), download, close (Esc).
function photoViewer() {
  let index = 0;
  let touchX = null;
  const heading = h("h2", { id: "viewer-title" });
  const image = h("img", { alt: "", onload: () => image.classList.remove("loading") });
  const download = h("a", { class: "button", download: "" }, "Download");
  const close = h("button", { type: "button", onclick: () => dialog.close() }, "Close");
  const previous = h("button", { type: "button", onclick: () => show(index - 1) }, "‹ Previous");
  const next = h("button", { type: "button", onclick: () => show(index + 1) }, "Next ›");
  const nav = h("nav", { class: "viewer-nav", "aria-label": "Photos" }, previous, next);
  const dialog = h("dialog", { class: "viewer", "aria-labelledby": "viewer-title",
    onclick: (event) => { if (event.target === dialog) dialog.close(); },
    onkeydown: (event) => {
      if (event.key === "ArrowLeft") { event.preventDefault(); show(index - 1); }
      if (event.key === "ArrowRight") { event.preventDefault(); show(index + 1); }
    },
    ontouchstart: (event) => { touchX = event.changedTouches[0].clientX; },
    ontouchend: (event) => {
      const moved = touchX === null ? 0 : event.changedTouches[0].clientX - touchX;
      touchX = null;
      if (Math.abs(moved) > 60) show(index + (moved < 0 ? 1 : -1));
    },
    onclose: () => {
      const tile = view.querySelectorAll(".gallery button")[index];
      if (tile) tile.focus();
    } },
  h("div", { class: "viewer-inner" },
    h("div", { class: "viewer-bar" }, heading, download, close),
    h("figure", {}, image),
    nav));
  document.body.append(dialog);

  function show(at) {
    const count = state.photos.length;
    index = (at + count) % count;  // around from the last to the first
    const photo = state.photos[index];
    const label = `Photo ${index + 1} of ${count}`;
    heading.textContent = label;
    image.alt = label;
    if (image.getAttribute("src") !== photo.large) {
      image.classList.add("loading");
      image.src = photo.large;
    }
    download.href = photo.download;
    download.setAttribute("aria-label", `Download photo ${index + 1}`);
    nav.hidden = count < 2;
    if (count > 1) new Image().src = state.photos[(index + 1) % count].large;  // the next one is ready at once
  }

  return {
    open(at) {
      show(at);
      dialog.showModal();
      close.focus();
    },
  };
}

start();
