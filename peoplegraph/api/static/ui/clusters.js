// The cluster review: a sidebar of clusters (largest first, filtered, paged) and the chosen cluster's faces,
// with every editor action one key or click away, each answered by what it did and an Undo.
import { api } from "./api.js";
import { h, plural, replace, showError, toast, typing } from "./dom.js";
import { FaceGrid } from "./facegrid.js";
import { PersonPicker } from "./picker.js";
import { undoLast } from "./undo.js";

const PAGE = 50;          // clusters per sidebar page
const FACES_PAGE = 200;   // faces of one cluster shown at once
const SUGGESTIONS = 500;  // queued suggestions read to suggest a name for an unnamed cluster
const FILTERS = [["all", "All"], ["unnamed", "Unnamed"], ["confirmed", "Confirmed"], ["ignored", "Ignored"],
  ["review", "Review queue"]];
const KEYS = [["←↑→↓", "move"], ["Shift+arrows", "extend the selection"], ["Space", "select"], ["A", "select all"],
  ["Esc", "clear"], ["Enter", "confirm the suggestion"], ["N", "name"], ["R / Delete", "remove selected"],
  ["S", "split selected off"], ["I", "ignore cluster"], ["X", "mark cluster for merging"], ["M", "merge marked"],
  ["J / K", "next / previous cluster"], ["Z", "undo"], ["?", "these keys"]];

// Kept while the editor moves between sections: coming back finds the same filter and page.
const FILTER_STORE = "peoplegraph.filter";
const state = { filter: sessionStorage.getItem(FILTER_STORE) || "unnamed", offset: 0, marked: new Set() };

export async function render(main, context, clusterId) {
  const view = new ClusterReview(main, context);
  await view.start(clusterId === undefined ? null : Number(clusterId));
  return () => view.stop();
}

class ClusterReview {
  constructor(main, context) {
    this.context = context;
    this.base = context.base;
    this.clusters = [];
    this.total = 0;
    this.current = null;    // the open cluster (an API Cluster), or null
    this.queue = null;      // the review queue's first suggestions (a promise), read when first needed
    this.suggestion = null; // {person_id, name, faces, score}
    this.names = new Map(); // person id -> name
    this.onKey = (event) => this.key(event);
    this.grid = new FaceGrid("Faces of the cluster", (ids) => this.selectionChanged(ids));
    this.list = h("ul", { class: "plain cluster-list" });
    this.pager = h("div", { class: "pager" });
    this.mergeButton = h("button", { type: "button", onclick: () => this.mergeMarked() }, "Merge marked");
    this.filters = h("div", { class: "filters", role: "group", "aria-label": "Show" }, FILTERS.map(([value, label]) =>
      h("button", { type: "button", "aria-pressed": String(state.filter === value), dataset: { filter: value },
        onclick: () => this.setFilter(value) }, label)));
    this.detail = h("section", { class: "detail", "aria-labelledby": "cluster-title" });
    replace(main, h("div", { class: "review" },
      h("aside", { class: "sidebar", "aria-label": "Clusters" }, this.filters, this.list, this.pager,
        h("div", { class: "row edit-only" }, this.mergeButton,
          h("button", { type: "button", onclick: () => this.resetAll() }, "Re-cluster all"))),
      this.detail));
  }

  async start(clusterId) {
    document.addEventListener("keydown", this.onKey);
    if (state.filter === "review") state.filter = "unnamed";
    await Promise.all([this.loadNames(), this.loadList()]);
    if (state.filter === "ignored") return this.showIgnored();
    const first = clusterId ?? this.clusters[0]?.id;
    if (first === undefined) return this.empty();
    await this.open(first, clusterId === null);
  }

  stop() { document.removeEventListener("keydown", this.onKey); }

  async loadNames() {
    const { body } = await api(`${this.base}/people?limit=500&include_hidden=true`);
    for (const person of body) this.names.set(person.person_id, person.name);
  }

  async nameOf(personId) {
    if (!this.names.has(personId)) {
      const { body } = await api(`${this.base}/people?search=${encodeURIComponent(personId)}&limit=20&include_hidden=true`);
      for (const person of body) this.names.set(person.person_id, person.name);
    }
    return this.names.get(personId) ?? personId;
  }

  // ---- the sidebar ----
  async loadList() {
    this.updateFilters();
    if (state.filter === "ignored") {
      this.clusters = [];
      this.total = 0;
      replace(this.list, h("li", { class: "muted cluster-item" }, "Ignored faces are shown on the right."));
      replace(this.pager);
      return;
    }
    const { body, total } = await api(`${this.base}/clusters?status=${state.filter}&limit=${PAGE}&offset=${state.offset}`);
    if (!body.length && state.offset > 0) { state.offset = Math.max(0, state.offset - PAGE); return this.loadList(); }
    this.clusters = body;
    this.total = total;
    await Promise.all(body.filter((c) => c.person_id).map((c) => this.nameOf(c.person_id)));
    replace(this.list, body.length ? body.map((cluster) => this.item(cluster))
      : h("li", { class: "muted cluster-item" }, "No clusters here."));
    const last = Math.min(state.offset + PAGE, total);
    replace(this.pager,
      h("button", { type: "button", disabled: state.offset === 0, onclick: () => this.page(-1) }, "‹ Previous"),
      h("span", {}, total ? `${state.offset + 1}–${last} of ${total}` : "0"),
      h("button", { type: "button", disabled: last >= total, onclick: () => this.page(1) }, "Next ›"));
    this.updateMarked();
  }

  item(cluster) {
    const name = cluster.person_id ? this.names.get(cluster.person_id) ?? cluster.person_id : `Unnamed ${cluster.id}`;
    const facts = `${plural(cluster.size, "face")} · confidence ${Math.round(cluster.mean_confidence)}` +
      (cluster.quality ? ` · quality ${Math.round(cluster.quality.mean_quality)}` : "");
    const mark = h("input", { type: "checkbox", class: "edit-only", checked: state.marked.has(cluster.id),
      "aria-label": `Mark cluster ${cluster.id} for merging`,
      onchange: (event) => { this.mark(cluster.id, event.target.checked); } });
    const item = h("li", { class: "cluster-item", draggable: "true", dataset: { cluster: cluster.id },
      "aria-current": String(this.current?.id === cluster.id),
      ondragstart: (event) => event.dataTransfer.setData("text/plain", String(cluster.id)),
      ondragover: (event) => { event.preventDefault(); item.classList.add("drop-target"); },
      ondragleave: () => item.classList.remove("drop-target"),
      ondrop: (event) => {
        event.preventDefault();
        item.classList.remove("drop-target");
        const dragged = Number(event.dataTransfer.getData("text/plain"));
        if (dragged && dragged !== cluster.id) this.merge([cluster.id, dragged]);
      } },
    mark,
    h("img", { src: cluster.crop, alt: "", width: 48, height: 48, loading: "lazy" }),
    h("button", { type: "button", class: "open", onclick: () => this.open(cluster.id, false, true) },
      h("span", { class: "name" }, name, cluster.person_id ? h("span", { class: "badge ok" }, "confirmed") : null),
      h("span", { class: "facts" }, facts)));
    return item;
  }

  mark(id, on) {
    if (on) state.marked.add(id); else state.marked.delete(id);
    this.updateMarked();
  }

  updateMarked() {
    for (const box of this.list.querySelectorAll("input[type=checkbox]")) {
      box.checked = state.marked.has(Number(box.closest("li").dataset.cluster));
    }
    this.mergeButton.disabled = state.marked.size < 2;
    this.mergeButton.textContent = state.marked.size >= 2 ? `Merge ${state.marked.size} marked clusters` : "Merge marked";
  }

  updateFilters() {
    for (const button of this.filters.children) button.setAttribute("aria-pressed", String(button.dataset.filter === state.filter));
  }

  async setFilter(value) {
    if (value === "review") { this.context.go("#/review"); return; }
    state.filter = value;
    state.offset = 0;
    sessionStorage.setItem(FILTER_STORE, value);
    await this.loadList();
    if (value === "ignored") await this.showIgnored();
    else if (this.clusters.some((c) => c.id === this.current?.id)) await this.open(this.current.id, true);
    else if (this.clusters.length) await this.open(this.clusters[0].id);
    else this.empty();
  }

  async page(step) {
    state.offset = Math.max(0, state.offset + step * PAGE);
    await this.loadList();
    if (this.clusters.length) await this.open(this.clusters[0].id);
  }

  async step(direction) {
    const index = this.clusters.findIndex((c) => c.id === this.current?.id);
    const next = this.clusters[index + direction];
    if (next) return this.open(next.id, false, true);
    if (direction > 0 && state.offset + PAGE < this.total) return this.page(1);
    if (direction < 0 && state.offset > 0) return this.page(-1);
  }

  // ---- one cluster ----
  empty() {
    this.current = null;
    replace(this.detail, h("h1", { id: "cluster-title" }, "Nothing to review"),
      h("p", { class: "muted" }, state.filter === "unnamed" ? "Every cluster has a name. " : "",
        h("a", { href: "#/upload" }, "Upload photos"), " to find more people."));
  }

  // `focus`: put the keyboard on the faces (the editor chose this cluster, or was on the faces before)
  async open(clusterId, replaceHash = false, focus = false) {
    let faces;
    let total;
    try {
      ({ body: faces, total } = await api(`${this.base}/clusters/${clusterId}/faces?limit=${FACES_PAGE}`));
    } catch (error) {
      const moved = error.status === 409 && /now in clusters? ([\d, ]+)/.exec(error.message);
      if (moved) {
        toast(error.message);
        return this.open(Number(moved[1].split(",")[0]), true, focus);
      }
      if (error.status === 404 && this.clusters.length) {
        toast(`Cluster ${clusterId} is not in this project any more.`);
        return this.open(this.clusters[0].id, true, focus);
      }
      throw error;
    }
    const hash = `#/clusters/${clusterId}`;
    if (location.hash !== hash) history[replaceHash ? "replaceState" : "pushState"](null, "", hash);
    this.current = this.clusters.find((c) => c.id === clusterId) ?? await this.findCluster(clusterId, faces);
    for (const item of this.list.children) {
      item.setAttribute("aria-current", String(Number(item.dataset.cluster) === clusterId));
      if (Number(item.dataset.cluster) === clusterId) item.scrollIntoView({ block: "nearest" });
    }
    this.suggestion = this.current.person_id ? null : await this.suggest(faces);
    this.drawCluster(faces, total);
    if (focus) this.grid.moveTo(0);
  }

  // A cluster not on the sidebar's page (opened by its address): its facts from its faces.
  async findCluster(clusterId, faces) {
    const confidence = faces.reduce((sum, f) => sum + f.confidence, 0) / Math.max(faces.length, 1);
    const { body } = await api(`${this.base}/faces/${faces[0].face_id}/history`);
    const decided = [...body].reverse().find((step) => step.person_id);
    return { id: clusterId, size: faces.length, mean_confidence: confidence, person_id: decided?.person_id ?? null,
      photos: new Set(faces.map((f) => f.photo_id)).size, quality: null };
  }

  // The person auto-matching suggested for most of this cluster's faces, if any.
  // The queue is read once and again only after an action (moving between clusters changes nothing in it).
  async suggest(faces) {
    this.queue ??= api(`${this.base}/review?limit=${SUGGESTIONS}`).then((answer) => answer.body,
      (error) => { this.queue = null; throw error; });
    const body = await this.queue;
    const ours = new Set(faces.map((f) => f.face_id));
    const votes = new Map();
    for (const s of body) {
      if (!ours.has(s.face_id) || !s.suggested_person_id) continue;
      const vote = votes.get(s.suggested_person_id) ?? { faces: 0, score: 0 };
      vote.faces += 1;
      vote.score = Math.max(vote.score, s.score ?? 0);
      votes.set(s.suggested_person_id, vote);
    }
    const best = [...votes.entries()].sort((a, b) => b[1].faces - a[1].faces)[0];
    if (!best) return null;
    return { person_id: best[0], name: await this.nameOf(best[0]), ...best[1] };
  }

  drawCluster(faces, total) {
    const cluster = this.current;
    const named = cluster.person_id ? this.names.get(cluster.person_id) ?? cluster.person_id : null;
    this.picker = new PersonPicker(this.base, "confirm-name", named ? "Confirm as someone else" : "Name");
    this.picker.input.addEventListener("keydown", (event) => {
      if (event.key === "Escape") { this.picker.input.value = ""; this.grid.moveTo(this.grid.focus); }
    });
    this.actions = {
      remove: h("button", { type: "button", onclick: () => this.removeSelected() }, "Remove selected ", h("kbd", {}, "R")),
      split: h("button", { type: "button", onclick: () => this.splitSelected() }, "Split off selected ", h("kbd", {}, "S")),
    };
    const quality = cluster.quality
      ? ` · quality ${Math.round(cluster.quality.mean_quality)}${cluster.quality.low_quality_faces
        ? ` (${plural(cluster.quality.low_quality_faces, "poor face")})` : ""}` : "";
    replace(this.detail,
      h("h1", { id: "cluster-title" }, named ? h("a", { href: `#/people/${encodeURIComponent(cluster.person_id)}` }, named)
        : `Unnamed cluster ${cluster.id}`, named ? h("span", { class: "muted" }, ` · cluster ${cluster.id}`) : null),
      h("p", { class: "muted" }, `${plural(total, "face")} in ${plural(cluster.photos, "photo")} · mean confidence ` +
        `${Math.round(cluster.mean_confidence)}${quality}`),
      this.suggestion && h("div", { class: "suggestion row edit-only" },
        h("span", { class: "grow" }, "Auto-matching suggests ", h("strong", {}, this.suggestion.name), ` for ${plural(
          this.suggestion.faces, "face")} (best score ${this.suggestion.score.toFixed(2)}).`),
        h("button", { type: "button", class: "primary", onclick: () => this.confirm({ person_id: this.suggestion.person_id },
          this.suggestion.name) }, `Confirm as ${this.suggestion.name} `, h("kbd", {}, "Enter"))),
      h("form", { class: "toolbar edit-only", onsubmit: (event) => { event.preventDefault(); this.confirmTyped(); } },
        this.picker.field(),
        h("button", { type: "submit", class: "primary" }, named ? "Confirm" : "Confirm name"),
        this.actions.remove, this.actions.split,
        h("button", { type: "button", onclick: () => this.ignore() }, "Ignore cluster ", h("kbd", {}, "I")),
        h("button", { type: "button", onclick: () => this.mark(cluster.id, !state.marked.has(cluster.id)) },
          "Mark for merge ", h("kbd", {}, "X")),
        h("button", { type: "button", onclick: () => this.resetOne() }, "Reset cluster"),
        h("button", { type: "button", onclick: () => this.undo() }, "Undo ", h("kbd", {}, "Z"))),
      h("p", { class: "help" }, "Keys: ", KEYS.slice(0, 8).map(([k, what]) => [h("kbd", {}, k), ` ${what} · `]),
        h("button", { type: "button", class: "link", onclick: () => this.help() }, "all keys ", h("kbd", {}, "?"))),
      this.grid.element,
      this.more(cluster.id, faces.length, total));
    this.grid.show(faces);
  }

  // "Show more faces" while the cluster has more than the grid shows: the next page joins the grid.
  more(clusterId, shown, total) {
    if (shown >= total) return null;
    const line = h("p", { class: "row" }, h("span", { class: "muted" }, `${shown} of ${total} faces shown.`),
      h("button", { type: "button", onclick: async () => {
        try {
          const { body } = await api(`${this.base}/clusters/${clusterId}/faces?limit=${FACES_PAGE}&offset=${shown}`);
          this.grid.add(body);
          line.replaceWith(this.more(clusterId, shown + body.length, total) ?? "");
        } catch (error) { showError(error); }
      } }, "Show more faces"));
    return line;
  }

  selectionChanged(ids) {
    if (!this.actions) return;
    this.actions.remove.disabled = this.actions.split.disabled = ids.length === 0;
  }

  help() {
    const dialog = h("dialog", { "aria-labelledby": "keys-title", onclose: () => dialog.remove() },
      h("h2", { id: "keys-title" }, "Keys of the cluster review"),
      h("dl", { class: "facts" }, KEYS.map(([k, what]) => [h("dt", {}, h("kbd", {}, k)), h("dd", {}, what)])),
      h("form", { method: "dialog" }, h("button", { type: "submit", class: "primary" }, "Close")));
    document.body.append(dialog);
    dialog.showModal();
  }

  // ---- the ignored faces ----
  async showIgnored() {
    this.current = null;
    const { body, total } = await api(`${this.base}/faces/ignored?limit=${FACES_PAGE}`);
    const unignore = h("button", { type: "button", class: "primary", disabled: true, onclick: async () => {
      const ids = [...this.grid.selected];
      await this.run(`/faces/unignore`, { face_ids: ids }, () => `${plural(ids.length, "face")} back in clustering.`);
    } }, "Unignore selected ", h("kbd", {}, "U"));
    this.actions = { remove: unignore, split: unignore };
    replace(this.detail, h("h1", { id: "cluster-title" }, "Ignored faces"),
      h("p", { class: "muted" }, `${plural(total, "face")} editors ignored (background extras): they join no cluster.`),
      h("div", { class: "toolbar edit-only" }, unignore, h("button", { type: "button", onclick: () => this.undo() }, "Undo ", h("kbd", {}, "Z"))),
      body.length ? this.grid.element : h("p", {}, "No face is ignored."));
    this.grid.show(body);
  }

  // ---- actions ----
  async run(path, json, message, after = null) {
    if (this.busy) return null;  // a double click, or a key held down: the first request answers
    this.busy = true;
    this.detail.setAttribute("aria-busy", "true");
    try {
      const { body } = await api(`${this.base}${path}`, { method: "POST", json });
      toast(message(body), { undo: () => this.undo() });
      await this.refresh(after);
      return body;
    } catch (error) {
      showError(error);
      return null;
    } finally {
      this.busy = false;
      this.detail.removeAttribute("aria-busy");
    }
  }

  // Redraw after an action: the sidebar, then the cluster `next` names (default: the one open), or the
  // first of the list when it is gone.
  async refresh(next = null) {
    this.queue = null;
    const active = document.activeElement;
    const onFaces = this.grid.element.contains(active) || active === document.body || !active?.isConnected;
    await this.loadList();
    if (state.filter === "ignored") return this.showIgnored();
    const target = next ?? this.current?.id;
    if (target === undefined || target === null) {
      return this.clusters.length ? this.open(this.clusters[0].id, false, onFaces) : this.empty();
    }
    try {
      await this.open(target, true, onFaces);
    } catch (error) {
      if (this.clusters.length) await this.open(this.clusters[0].id, true, onFaces); else this.empty();
    }
  }

  async confirmTyped() {
    const choice = await this.picker.choice();
    if (!choice) {
      toast("Type a name (a new person), or pick someone from the suggestions.");
      this.picker.input.focus();
      return;
    }
    this.confirm(choice.person_id ? { person_id: choice.person_id } : { name: choice.name }, choice.name);
  }

  confirm(body, name) {
    const id = this.current.id;
    // reviewing the unnamed ones, the next comes up (as a photo organiser's People view moves on)
    const next = state.filter === "unnamed" ? this.neighbour(id) : null;
    return this.run(`/clusters/${id}/confirm`, body, (outcome) => {
      if (outcome.person_id) this.names.set(outcome.person_id, name);
      return `Cluster ${id} confirmed as ${name}.`;
    }, next);
  }

  removeSelected() {
    const ids = [...this.grid.selected];
    if (!ids.length || !this.current) return;
    const id = this.current.id;
    return this.run(`/faces/remove`, { face_ids: ids }, () => `Removed ${plural(ids.length, "face")} from cluster ${id}.`);
  }

  splitSelected() {
    const ids = [...this.grid.selected];
    if (!ids.length || !this.current) return;
    const id = this.current.id;
    return this.run(`/clusters/${id}/split`, { face_ids: ids },
      () => `Split ${plural(ids.length, "face")} off cluster ${id} into a cluster of their own.`);
  }

  ignore() {
    if (!this.current) return;
    const { id, size } = this.current;
    return this.run(`/clusters/${id}/ignore`, undefined, () => `Ignored cluster ${id} (${plural(size, "face")}).`,
      this.neighbour(id));
  }

  resetOne() {
    if (!this.current) return;
    const id = this.current.id;
    return this.run(`/clusters/${id}/reset`, undefined, () => `Cluster ${id} recomputed; every decision kept.`);
  }

  // The cluster to show after this one goes: the next on the page, else the one before.
  neighbour(id) {
    const index = this.clusters.findIndex((c) => c.id === id);
    return (this.clusters[index + 1] ?? this.clusters[index - 1])?.id ?? null;
  }

  async merge(ids) {
    const outcome = await this.run(`/clusters/merge`, { cluster_ids: ids },
      () => `Merged clusters ${ids.join(", ")}.`, ids[0]);
    if (outcome) { state.marked.clear(); this.updateMarked(); }
  }

  mergeMarked() {
    if (state.marked.size >= 2) return this.merge([...state.marked]);
    toast("Mark two or more clusters (their boxes, or X) to merge them.");
  }

  undo() { return undoLast(this.base, () => this.refresh()); }

  async resetAll() {
    if (!window.confirm("Cluster every face of the project again? Every decision is kept; it may take minutes.")) return;
    try {
      const { body } = await api(`${this.base}/clustering?mode=reset`, { method: "POST" });
      toast("Re-clustering the whole project: follow it on Upload.");
      this.context.go(`#/upload/${body.jobs[0]}`);
    } catch (error) { showError(error); }
  }

  // The review's keys act while focus is on the faces or on nothing in particular: a link, a button or a
  // field keeps its own keys (Enter follows the link, Space presses the button), so no letter acts by surprise.
  // Ctrl/Cmd+Z undoes from anywhere but a text field.
  key(event) {
    if (typing(event) || event.altKey || document.querySelector("dialog[open]")) return;
    if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "z") { event.preventDefault(); this.undo(); return; }
    if (event.ctrlKey || event.metaKey) return;
    const target = event.target instanceof Element ? event.target : null;
    const onFaces = target && this.grid.element.contains(target);
    if (target && !onFaces && target.closest("a, button, input, select, textarea, summary, label, " +
        "[tabindex]:not([tabindex='-1'])")) return;
    if (this.busy) return;
    if (this.grid.key(event)) { event.preventDefault(); return; }
    const actions = {
      Enter: () => (this.suggestion ? this.confirm({ person_id: this.suggestion.person_id }, this.suggestion.name)
        : this.picker?.input.focus()),
      n: () => this.picker?.input.focus(),
      r: () => this.removeSelected(), Delete: () => this.removeSelected(), Backspace: () => this.removeSelected(),
      s: () => this.splitSelected(), i: () => this.ignore(),
      u: () => state.filter === "ignored" && this.actions?.remove.click(),
      x: () => this.current && this.mark(this.current.id, !state.marked.has(this.current.id)),
      m: () => this.mergeMarked(), j: () => this.step(1), k: () => this.step(-1), z: () => this.undo(),
      "?": () => this.help(),
    };
    const action = actions[event.key] ?? actions[event.key.toLowerCase()];
    const reading = ["j", "k", "?"];  // all a viewer's keys do besides moving on the faces
    if (!action || (document.body.dataset.role === "viewer" && !reading.includes(event.key.toLowerCase()))) return;
    event.preventDefault();
    action();
  }
}
