// Choosing a person by typing: suggestions from the project's people (names and aliases) as the editor types;
// a typed name no one has is a new person.
import { api } from "./api.js";
import { debounce, field, h } from "./dom.js";

const SHOWN = 20;

export class PersonPicker {
  constructor(base, id, label) {
    this.base = base;
    this.id = id;
    this.label = label;
    this.people = [];
    this.list = h("datalist", { id: `${id}-people` });
    this.input = h("input", { id, type: "text", list: `${id}-people`, autocomplete: "off", spellcheck: "false",
      placeholder: "Type a name", oninput: debounce(() => this.lookUp(), 150) });
  }

  field() {
    return [field(this.label, this.input), this.list];
  }

  async lookUp() {
    const typed = this.input.value.trim();
    if (!typed) return;
    const { body } = await api(`${this.base}/people?search=${encodeURIComponent(typed)}&limit=${SHOWN}&include_hidden=true`);
    this.people = body;
    this.list.replaceChildren(...body.map((person) => h("option", { value: person.name },
      person.aliases.length ? `${person.name} (also ${person.aliases.join(", ")})` : person.name)));
  }

  // {person_id, name} for an existing person, {name} for a new one, null when nothing is typed.
  async choice() {
    const typed = this.input.value.trim();
    if (!typed) return null;
    await this.lookUp();  // what was typed since the last suggestions
    const wanted = typed.toLowerCase();
    const known = this.people.find((p) => p.name.toLowerCase() === wanted)
      ?? this.people.find((p) => p.aliases.some((alias) => alias.toLowerCase() === wanted));
    return known ? { person_id: known.person_id, name: known.name } : { name: typed };
  }
}
