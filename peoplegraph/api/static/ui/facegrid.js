// A grid of face crops to choose from, as a photo organiser's: click selects one, Ctrl/Cmd-click adds or takes
// away one, Shift-click (or Shift+arrows) a range; arrows move, Space toggles, A selects all, Esc clears.
import { h } from "./dom.js";

// engine/quality.py's indicators, as an editor says them
const FLAG_LABELS = { small_face: "small", blurry: "blurry", poor_lighting: "poor lighting", profile: "profile",
  sunglasses: "sunglasses", occlusion: "occluded" };

export function qualityFlags(quality) {
  return Object.entries(quality || {}).filter(([name, on]) => name !== "score" && on === true)
    .map(([name]) => FLAG_LABELS[name] || name.replaceAll("_", " "));
}

export class FaceGrid {
  // faces: the API's Face answers; onChange(selectedIds) after every change of the selection
  constructor(label, onChange = () => {}) {
    this.faces = [];
    this.selected = new Set();
    this.focus = 0;
    this.anchor = 0;
    this.onChange = onChange;
    this.element = h("div", { class: "faces", role: "listbox", "aria-label": label, "aria-multiselectable": "true" });
  }

  show(faces, keep = false) {
    this.faces = faces;
    const ids = new Set(faces.map((f) => f.face_id));
    this.selected = keep ? new Set([...this.selected].filter((id) => ids.has(id))) : new Set();
    this.focus = Math.min(this.focus, Math.max(faces.length - 1, 0));
    this.element.replaceChildren(...faces.map((face, index) => this.tile(face, index)));
    this.paint();
  }

  // More faces after these (the next page), the selection kept.
  add(faces) {
    const start = this.faces.length;
    this.faces = this.faces.concat(faces);
    this.element.append(...faces.map((face, index) => this.tile(face, start + index)));
    this.paint();
  }

  tile(face, index) {
    const flags = qualityFlags(face.quality);
    const description = `Face ${face.face_id}, confidence ${Math.round(face.confidence)}, quality ` +
      `${Math.round(face.quality?.score ?? 0)}${flags.length ? `, ${flags.join(", ")}` : ""}`;
    return h("div", { class: "face", role: "option", tabindex: "-1", "aria-selected": "false", "aria-label": description,
      title: description, dataset: { face: face.face_id },
      onclick: (event) => this.click(index, event) },
    h("img", { src: face.crop, alt: "", loading: "lazy", width: 160, height: 160 }),
    h("span", { class: "flags" }, flags.map((flag) => h("span", { class: "badge warn" }, flag))));
  }

  click(index, event) {
    if (event.shiftKey) this.range(this.anchor, index);
    else if (event.ctrlKey || event.metaKey) this.toggle(index);
    else { this.selected = new Set([this.faces[index].face_id]); this.anchor = index; }
    this.moveTo(index);
  }

  toggle(index) {
    const id = this.faces[index].face_id;
    if (this.selected.has(id)) this.selected.delete(id); else this.selected.add(id);
    this.anchor = index;
  }

  range(from, to) {
    const [low, high] = from < to ? [from, to] : [to, from];
    this.selected = new Set(this.faces.slice(low, high + 1).map((f) => f.face_id));
  }

  selectAll() { this.selected = new Set(this.faces.map((f) => f.face_id)); this.paint(); }

  clear() { this.selected = new Set(); this.paint(); }

  moveTo(index) {
    if (!this.faces.length) return;
    this.focus = Math.max(0, Math.min(index, this.faces.length - 1));
    this.paint();
    this.element.children[this.focus]?.focus({ preventScroll: false });
  }

  columns() {
    const tiles = [...this.element.children];
    if (tiles.length < 2) return 1;
    const top = tiles[0].offsetTop;
    const count = tiles.findIndex((tile) => tile.offsetTop !== top);
    return count === -1 ? tiles.length : count;
  }

  // Answers true when it used the key.
  key(event) {
    if (!this.faces.length) return false;
    const steps = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: this.columns(), ArrowUp: -this.columns(),
      Home: -this.faces.length, End: this.faces.length };
    if (event.key in steps) {
      const next = Math.max(0, Math.min(this.focus + steps[event.key], this.faces.length - 1));
      if (event.shiftKey) this.range(this.anchor, next); else this.anchor = next;
      this.moveTo(next);
      return true;
    }
    if (event.key === " ") { this.toggle(this.focus); this.moveTo(this.focus); return true; }
    if (event.key === "a" && !event.ctrlKey && !event.metaKey) { this.selectAll(); return true; }
    if (event.key === "Escape") { this.clear(); return true; }
    return false;
  }

  paint() {
    [...this.element.children].forEach((tile, index) => {
      tile.setAttribute("aria-selected", String(this.selected.has(this.faces[index].face_id)));
      tile.tabIndex = index === this.focus ? 0 : -1;
    });
    this.onChange([...this.selected]);
  }
}
