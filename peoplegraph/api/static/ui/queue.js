// The review queue: faces auto-matching thought were someone, below its threshold for tagging on its own.
// Each is shown beside the suggested person's reference faces, to accept or reject, one by one or all at once.
import { api } from "./api.js";
import { h, plural, replace, showError, toast } from "./dom.js";
import { undoLast } from "./undo.js";

const PAGE = 100;
const REFERENCES = 4;  // reference faces shown per person

export async function render(main, context) {
  const queue = new ReviewQueue(main, context);
  await queue.load();
}

class ReviewQueue {
  constructor(main, context) {
    this.main = main;
    this.base = context.base;
    this.offset = 0;
  }

  async load() {
    const [{ body, total }, { body: people }] = await Promise.all([
      api(`${this.base}/review?limit=${PAGE}&offset=${this.offset}`),
      api(`${this.base}/people?limit=500&include_hidden=true`)]);
    const names = new Map(people.map((p) => [p.person_id, p.name]));
    const groups = new Map();
    for (const suggestion of body) {
      const key = suggestion.suggested_person_id ?? "";
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key).push(suggestion);
    }
    replace(this.main, h("h1", {}, "Review queue"),
      h("p", { class: "muted" }, Number.isNaN(total) || !total
        ? "Nothing to review: auto-matching has no open suggestions."
        : `${plural(total, "face")} auto-matching suggested for a person, best score first.`),
      body.length > 1 ? h("div", { class: "row" },
        h("button", { type: "button", onclick: () => this.answer(body.map((s) => s.face_id), true) }, "Accept every suggestion shown"),
        h("button", { type: "button", onclick: () => this.answer(body.map((s) => s.face_id), false) }, "Reject every suggestion shown"))
        : null,
      [...groups.entries()].map(([personId, suggestions]) => this.group(personId, names.get(personId) ?? personId, suggestions)),
      this.pager(total));
  }

  group(personId, name, suggestions) {
    const references = [...new Set(suggestions.flatMap((s) => s.reference_face_ids))].slice(0, REFERENCES);
    const heading = `suggested-${personId || "none"}`;
    return h("section", { class: "card suggestions", "aria-labelledby": heading },
      h("div", { class: "row" },
        h("h2", { id: heading, class: "grow" }, personId ? h("a", { href: `#/people/${encodeURIComponent(personId)}` }, name)
          : "No one", ` · ${plural(suggestions.length, "suggestion")}`),
        h("button", { type: "button", class: "primary", onclick: () => this.answer(suggestions.map((s) => s.face_id), true) },
          `Accept all ${suggestions.length}`),
        h("button", { type: "button", onclick: () => this.answer(suggestions.map((s) => s.face_id), false) }, "Reject all")),
      h("div", { class: "references" }, h("span", { class: "muted" }, `${name} as confirmed: `),
        references.map((id) => h("img", { src: `${this.base}/faces/${id}/crop`, alt: `A confirmed face of ${name}`,
          width: 64, height: 64, loading: "lazy" }))),
      h("ul", { class: "plain suggestions" }, suggestions.map((s) => h("li", { class: "suggestion-row", dataset: { face: s.face_id } },
        h("img", { src: s.crop, alt: `Face ${s.face_id}`, width: 96, height: 96, loading: "lazy" }),
        h("span", {}, `Face ${s.face_id}`, h("br"), h("span", { class: "muted" },
          s.score === null ? "" : `score ${s.score.toFixed(2)}`)),
        h("span", { class: "row" },
          h("button", { type: "button", class: "primary", "aria-label": `Accept face ${s.face_id} as ${name}`,
            onclick: () => this.answer([s.face_id], true) }, "Accept"),
          h("button", { type: "button", "aria-label": `Reject face ${s.face_id} as ${name}`,
            onclick: () => this.answer([s.face_id], false) }, "Reject"))))));
  }

  pager(total) {
    if (Number.isNaN(total) || total <= PAGE) return null;
    return h("div", { class: "pager" },
      h("button", { type: "button", disabled: this.offset === 0, onclick: () => { this.offset -= PAGE; this.load(); } }, "‹ Previous"),
      h("span", {}, `${this.offset + 1}–${Math.min(this.offset + PAGE, total)} of ${total}`),
      h("button", { type: "button", disabled: this.offset + PAGE >= total, onclick: () => { this.offset += PAGE; this.load(); } }, "Next ›"));
  }

  async answer(faceIds, accept) {
    try {
      await api(`${this.base}/review`, { method: "POST", json: { face_ids: faceIds, accept } });
      toast(`${accept ? "Accepted" : "Rejected"} ${plural(faceIds.length, "suggestion")}.`, { undo: () => this.undo() });
      await this.load();
    } catch (error) { showError(error); }
  }

  undo() { return undoLast(this.base, () => this.load()); }
}
