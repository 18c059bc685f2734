// The people of a project: #/people lists and searches them, #/people/<id> is one person's page (biography,
// dates, teams, relations, events, photos, co-appearances), where an editor edits the person and merges
// another person into them. Every change is undoable from its message.
import { api, graphql, ApiError } from "./api.js";
import { debounce, field, h, plural, replace, showError, toast } from "./dom.js";
import { undoLast } from "./undo.js";

const PAGE = 24;  // people per page of the list
const PHOTO_PAGE = 24;  // photos per page of a person
const VISIBILITIES = [
  ["normal", "Normal: listed"],
  ["hidden", "Hidden: left out of lists and co-appearances"],
  ["private", "Private: also no biography, notes, aliases, dates or ids through the API"],
];

// The list's search, page and filter outlive a visit to a person, so "back" finds the list as it was.
const listState = { search: "", offset: 0, includeHidden: false };

export async function render(main, context, personId) {
  return personId ? personPage(main, context, personId) : peopleList(main, context);
}

const mayEdit = (context) => context.session && context.session.role !== "viewer";
const personHash = (id) => `#/people/${encodeURIComponent(id)}`;
const cropUrl = (context, faceId) => `${context.base}/faces/${encodeURIComponent(faceId)}/crop`;
const photoUrl = (context, photoId, what) => `${context.base}/photos/${encodeURIComponent(photoId)}/${what}`;
// After an undo: the people view shown now drawn again (the one the action was taken on may be gone).
const redraw = (context) => () => { if (location.hash.startsWith("#/people")) context.go(location.hash); };
const faceOf = (photo) => (photo && photo.appearances && photo.appearances[0] ? photo.appearances[0].faceId : null);

function initials(name) {
  return name.split(/\s+/).filter(Boolean).slice(0, 2).map((word) => word[0].toUpperCase()).join("");
}

// The face image (or, until one is known, the person's initials) shown beside a person's name.
function portrait(name, className) {
  return h("span", { class: `portrait ${className}`, "aria-hidden": "true" }, initials(name));
}

function showPortrait(context, holder, faceId) {
  if (!faceId) return;
  replace(holder, h("img", { src: cropUrl(context, faceId), alt: "", loading: "lazy" }));
  holder.classList.add("has-face");
}

// ---------------------------------------------------------------------------------------------- the list

const FACES_QUERY = `query PeopleFaces($project: String!, $search: String!, $limit: Int!, $offset: Int!,
  $includeHidden: Boolean!) {
  people(project: $project, search: $search, limit: $limit, offset: $offset, includeHidden: $includeHidden) {
    id photos(limit: 1) { appearances { faceId } }
  }
}`;

function peopleList(main, context) {
  let alive = true;
  let request = 0;
  const search = h("input", { type: "search", id: "people-search", name: "search", value: listState.search,
    autocomplete: "off", placeholder: "Name or alias" });
  const hidden = h("input", { type: "checkbox", id: "people-hidden", checked: listState.includeHidden });
  const count = h("p", { class: "muted", id: "people-count", role: "status" });
  const list = h("ul", { class: "plain people-list", "aria-labelledby": "people-title" });
  const pager = h("nav", { class: "pager", "aria-label": "Pages of people" });

  replace(main, h("section", { class: "people" },
    h("h1", { id: "people-title" }, "People"),
    h("div", { class: "toolbar people-tools" },
      field("Search people", search, "Part of a name or of an alias, in any case."),
      h("div", { class: "check" }, hidden, h("label", { for: "people-hidden" }, "Show hidden and private people"))),
    count, list, pager));

  async function load() {
    const mine = ++request;
    const query = new URLSearchParams({ search: listState.search, limit: PAGE, offset: listState.offset,
      include_hidden: listState.includeHidden });
    try {
      const { body: people, total } = await api(`${context.base}/people?${query}`);
      if (!alive || mine !== request) return;
      if (!people.length && listState.offset > 0 && total > 0) {  // the list shrank under the page
        listState.offset = Math.floor((total - 1) / PAGE) * PAGE;
        return load();
      }
      draw(people, total);
      loadFaces(mine, people);
    } catch (error) {
      if (alive) showError(error);
    }
  }

  function draw(people, total) {
    const holders = new Map();
    count.textContent = !total
      ? (listState.search ? `No one's name or alias holds “${listState.search}”.`
        : "No one is named yet: confirm a cluster with a name and that person appears here.")
      : `${plural(total, "person", "people")}${listState.search ? ` matching “${listState.search}”` : ""}.`;
    replace(list, people.map((person) => {
      const face = portrait(person.name, "small");
      holders.set(person.person_id, face);
      const facts = [plural(person.photo_count, "photo")];
      if (person.visibility !== "normal") facts.push(person.visibility);
      return h("li", {},
        h("a", { class: "person-card", href: personHash(person.person_id) }, face,
          h("span", { class: "person-card-text" },
            h("span", { class: "name" }, person.name),
            person.aliases.length ? h("span", { class: "aliases" }, `also ${person.aliases.join(", ")}`) : null,
            h("span", { class: "facts" }, facts.join(" · ")))));
    }));
    list.holders = holders;
    const last = Math.min(total, listState.offset + people.length);
    replace(pager,
      h("button", { type: "button", disabled: listState.offset === 0, onclick: () => page(-PAGE) }, "Previous"),
      h("span", {}, total ? `${listState.offset + 1}–${last} of ${total}` : ""),
      h("button", { type: "button", disabled: last >= total, onclick: () => page(PAGE) }, "Next"));
    pager.hidden = total <= PAGE;
  }

  // The faces beside the names: each person's face in their first photo (one request for the page; the
  // initials stay where it fails).
  async function loadFaces(mine, people) {
    if (!people.length) return;
    try {
      const data = await graphql(FACES_QUERY, { project: context.project, search: listState.search, limit: PAGE,
        offset: listState.offset, includeHidden: listState.includeHidden });
      if (!alive || mine !== request) return;
      for (const person of data.people) {
        const holder = list.holders.get(person.id);
        if (holder) showPortrait(context, holder, faceOf(person.photos[0]));
      }
    } catch {
      // the names are what matters; the faces are a nicety
    }
  }

  function page(step) {
    listState.offset = Math.max(0, listState.offset + step);
    load();
    document.getElementById("people-title").scrollIntoView({ block: "nearest" });
  }

  const searchLater = debounce(() => { listState.offset = 0; load(); }, 250);
  search.addEventListener("input", () => { listState.search = search.value.trim(); searchLater(); });
  hidden.addEventListener("change", () => { listState.includeHidden = hidden.checked; listState.offset = 0; load(); });
  load();
  return () => { alive = false; };
}

// ---------------------------------------------------------------------------------------------- a person

const PERSON_QUERY = `query PersonPage($project: String!, $id: String!, $limit: Int!) {
  person(project: $project, id: $id) {
    id name visibility born died aliases biography biographyHtml notes photoCount clusterIds
    externalIds { source id }
    memberships { organisation { id name kind } role since until }
    relations { personId personName kind otherId otherName }
    events { event { id name date place } photoCount }
    coAppearances(includeHidden: true) { personId name photos }
    photos(limit: $limit, offset: 0) { id takenAt appearances { faceId } }
  }
}`;

const PHOTOS_QUERY = `query PersonPhotos($project: String!, $id: String!, $limit: Int!, $offset: Int!) {
  person(project: $project, id: $id) { photos(limit: $limit, offset: $offset) { id takenAt appearances { faceId } } }
}`;

const EDIT_MUTATION = `mutation EditPerson($project: String!, $id: String!, $name: String, $born: String,
  $died: String, $biography: String, $notes: String, $addAliases: [String!], $removeAliases: [String!],
  $externalIds: [ExternalIdInput!], $visibility: String) {
  editPerson(project: $project, id: $id, name: $name, born: $born, died: $died, biography: $biography,
    notes: $notes, addAliases: $addAliases, removeAliases: $removeAliases, externalIds: $externalIds,
    visibility: $visibility) { id name }
}`;

const MERGE_MUTATION = `mutation MergePeople($project: String!, $keptId: String!, $mergedId: String!, $prefer: String) {
  mergePeople(project: $project, keptId: $keptId, mergedId: $mergedId, prefer: $prefer) {
    personId conflicts { field kept merged }
  }
}`;

async function personPage(main, context, id) {
  let alive = true;
  replace(main, h("p", { class: "muted" }, "Loading…"));
  let person;
  try {
    person = (await graphql(PERSON_QUERY, { project: context.project, id, limit: PHOTO_PAGE })).person;
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) throw error;  // the shell asks to sign in again
    replace(main, h("section", { class: "card" }, h("h1", {}, "No such person"),
      h("p", { class: "error" }, error.message),
      h("p", {}, h("a", { href: "#/people" }, "All people"))));
    return null;
  }
  if (decodeURIComponent(location.hash) !== `#/people/${id}`) return null;  // gone elsewhere meanwhile
  const again = () => { if (alive) context.go(personHash(id)); };  // after an edit
  const viewer = h("dialog", { class: "viewer", "aria-labelledby": "viewer-title" });
  const page = h("article", { class: "person", "aria-labelledby": "person-name" },
    h("p", { class: "crumbs" }, h("a", { href: "#/people" }, "← All people")),
    header(context, person),
    mayEdit(context) ? editSection(context, person, again) : null,
    mayEdit(context) ? mergeSection(context, person) : null,
    biographySection(person),
    teamsSection(person),
    relationsSection(person),
    eventsSection(person),
    photosSection(context, person, viewer, () => alive),
    coAppearancesSection(person),
    historySection(context, person),
    viewer);
  replace(main, page);
  document.title = `${person.name} · peoplegraph`;
  return () => {
    alive = false;
    if (viewer.open) viewer.close();
    document.title = "peoplegraph";
  };
}

function header(context, person) {
  const face = portrait(person.name, "large");
  showPortrait(context, face, faceOf(person.photos[0]));
  const facts = h("dl", { class: "facts" });
  const fact = (term, ...value) => facts.append(h("dt", {}, term), h("dd", {}, ...value));
  if (person.visibility !== "normal") fact("Visibility", h("span", { class: "badge warn" }, person.visibility));
  fact("Born", person.born || h("span", { class: "muted" }, "unknown"));
  if (person.died) fact("Died", person.died);
  fact("Photos", String(person.photoCount));
  if (person.externalIds.length) {
    fact("Elsewhere", person.externalIds.map((e, i) => [i ? ", " : "", `${e.source}: `, h("code", {}, e.id)]));
  }
  const buttons = h("div", { class: "row person-actions" },
    h("a", { class: "button", href: `${context.base}/people/${encodeURIComponent(person.id)}/export`, download: "" },
      "Download portfolio (zip)"));
  if (mayEdit(context)) {
    for (const [label, target] of [["Edit", "person-edit"], ["Merge with…", "person-merge"]]) {
      const button = h("button", { type: "button", "aria-expanded": "false", "aria-controls": target,
        onclick: () => {
          const section = document.getElementById(target);
          section.hidden = !section.hidden;
          button.setAttribute("aria-expanded", String(!section.hidden));
          if (!section.hidden) section.querySelector("input, textarea, select").focus();
        } }, label);
      buttons.append(button);
    }
  }
  return h("header", { class: "person-head" }, face,
    h("div", { class: "grow" },
      h("h1", { id: "person-name" }, person.name),
      person.aliases.length ? h("p", { class: "aliases" }, "Also known as ", person.aliases.join(", ")) : null,
      facts, buttons));
}

function section(title, ...content) {
  const id = `section-${title.toLowerCase().replace(/[^a-z]+/g, "-")}`;
  return h("section", { class: "person-section", "aria-labelledby": id }, h("h2", { id }, title), ...content);
}

function biographySection(person) {
  const holder = h("div", { class: "biography" });
  // The one place HTML is inserted: the server rendered the Markdown with raw HTML disabled and unsafe links
  // refused (peoplegraph/services/biography.py).
  if (person.biographyHtml) holder.innerHTML = person.biographyHtml;
  else holder.append(h("p", { class: "muted" }, person.visibility === "private" ? "Withheld: this person is private."
    : "No biography yet."));
  return [section("Biography", holder),
    person.notes ? section("Editors' notes", h("p", { class: "notes" }, person.notes)) : null];
}

function period(since, until) {
  if (!since && !until) return "";
  return `${since || "?"}–${until || "now"}`;
}

function teamsSection(person) {
  if (!person.memberships.length) return null;
  return section("Teams and organisations", h("div", { class: "table-wrap" }, h("table", {},
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Organisation"), h("th", { scope: "col" }, "Role"),
      h("th", { scope: "col" }, "Period"))),
    h("tbody", {}, person.memberships.map((m) => h("tr", {},
      h("td", {}, m.organisation.name,
        m.organisation.kind ? h("span", { class: "muted" }, ` (${m.organisation.kind})`) : null),
      h("td", {}, m.role), h("td", {}, period(m.since, m.until))))))));
}

function relationsSection(person) {
  if (!person.relations.length) return null;
  const side = (personId, name) => (personId === person.id ? h("span", {}, name || personId)
    : h("a", { href: personHash(personId) }, name || personId));
  return section("Relations", h("ul", { class: "relations" }, person.relations.map((r) =>
    h("li", {}, side(r.personId, r.personName), ` is ${r.kind} of `, side(r.otherId, r.otherName)))));
}

function eventsSection(person) {
  if (!person.events.length) return null;
  const when = (event) => [event.date, event.place].filter(Boolean).join(", ");
  return section("Events", h("ul", { class: "events" }, person.events.map(({ event, photoCount }) =>
    h("li", {}, h("strong", {}, event.name), when(event) ? ` (${when(event)})` : "",
      ` — ${plural(photoCount, "photo")} of them`))));
}

function coAppearancesSection(person) {
  return section("Appears with", person.coAppearances.length
    ? h("ul", { class: "co-appearances" }, person.coAppearances.map((c) =>
      h("li", {}, h("a", { href: personHash(c.personId) }, c.name), ` — ${plural(c.photos, "photo")} together`)))
    : h("p", { class: "muted" }, "No one named appears in their photos."));
}

function photosSection(context, person, viewer, isAlive) {
  const grid = h("ul", { class: "plain photos", "aria-label": `Photos of ${person.name}` });
  const pager = h("nav", { class: "pager", "aria-label": "Pages of photos" });
  let offset = 0;
  let shown = person.photos;

  function draw() {
    replace(grid, shown.map((photo, index) => h("li", {},
      h("a", { class: "photo", href: photoUrl(context, photo.id, "original"), target: "_blank", rel: "noopener",
        onclick: (event) => {
          if (event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;  // a new tab, as asked
          event.preventDefault();
          openViewer(index);
        } },
      h("img", { src: photoUrl(context, photo.id, "thumbnail?side=256"), alt: alt(photo, offset + index),
        loading: "lazy", width: "256", height: "256" })))));
    const last = offset + shown.length;
    replace(pager,
      h("button", { type: "button", disabled: offset === 0, onclick: () => turn(-PHOTO_PAGE) }, "Previous"),
      h("span", {}, person.photoCount ? `${offset + 1}–${last} of ${person.photoCount}` : ""),
      h("button", { type: "button", disabled: last >= person.photoCount, onclick: () => turn(PHOTO_PAGE) }, "Next"));
    pager.hidden = person.photoCount <= PHOTO_PAGE;
  }

  function alt(photo, index) {
    const taken = photo.takenAt ? `, taken ${photo.takenAt.slice(0, 10)}` : "";
    return `${person.name}, photo ${index + 1} of ${person.photoCount}${taken}`;
  }

  async function turn(step) {
    const next = Math.max(0, offset + step);
    try {
      const data = await graphql(PHOTOS_QUERY,
        { project: context.project, id: person.id, limit: PHOTO_PAGE, offset: next });
      if (!isAlive()) return;
      offset = next;
      shown = data.person.photos;
      draw();
      grid.querySelector("a")?.focus();
    } catch (error) {
      showError(error);
    }
  }

  // The photo large (1280 px), with the original a click away; arrows go through the page's photos.
  function openViewer(index) {
    const photo = shown[index];
    const go = (step) => openViewer((index + step + shown.length) % shown.length);
    replace(viewer,
      h("div", { class: "viewer-bar" },
        h("h2", { id: "viewer-title" }, alt(photo, offset + index)),
        h("button", { type: "button", onclick: () => viewer.close() }, "Close")),
      h("img", { src: photoUrl(context, photo.id, "thumbnail?side=1280"), alt: alt(photo, offset + index) }),
      h("div", { class: "row" },
        shown.length > 1 ? h("button", { type: "button", onclick: () => go(-1) }, "Previous photo") : null,
        shown.length > 1 ? h("button", { type: "button", onclick: () => go(1) }, "Next photo") : null,
        h("a", { href: photoUrl(context, photo.id, "original"), target: "_blank", rel: "noopener" },
          "Open the original (new tab)")));
    viewer.onkeydown = (event) => {
      if (event.key === "ArrowLeft" && shown.length > 1) go(-1);
      else if (event.key === "ArrowRight" && shown.length > 1) go(1);
    };
    if (!viewer.open) viewer.showModal();
    viewer.querySelector(".viewer-bar button").focus();
  }

  draw();
  return section(`Photos (${person.photoCount})`, person.photoCount ? [grid, pager]
    : h("p", { class: "muted" }, "No photos of them yet."));
}

function historySection(context, person) {
  const body = h("div", {}, h("p", { class: "muted" }, "Loading…"));
  const details = h("details", { class: "history" }, h("summary", {}, "History of this person"), body);
  let loaded = false;
  details.addEventListener("toggle", async () => {
    if (!details.open || loaded) return;
    loaded = true;
    try {
      const { body: steps } = await api(`${context.base}/people/${encodeURIComponent(person.id)}/history`);
      const actions = new Map();  // one line per action (its faces counted), newest first
      for (const step of steps) {
        const key = step.seq ?? `${step.action}|${step.decided_at}|${step.actor}`;
        const seen = actions.get(key) || { ...step, faces: 0 };
        if (step.face_id) seen.faces += 1;
        actions.set(key, seen);
      }
      const rows = [...actions.values()].reverse();
      replace(body, rows.length ? h("ul", { class: "history-list" }, rows.map((a) => h("li", {},
        h("time", { datetime: a.decided_at }, a.decided_at.replace("T", " ").slice(0, 16)), " · ",
        a.action, a.faces ? ` (${plural(a.faces, "face")})` : "", a.actor ? ` by ${a.actor}` : " by auto-matching")))
        : h("p", { class: "muted" }, "Nothing recorded yet."));
    } catch (error) {
      replace(body, h("p", { class: "error" }, error.message));
    }
  });
  return details;
}

// ---------------------------------------------------------------------------------------------- editing

function editSection(context, person, again) {
  const name = h("input", { type: "text", id: "edit-name", value: person.name, required: true, autocomplete: "off" });
  const born = h("input", { type: "date", id: "edit-born", value: person.born || "" });
  const died = h("input", { type: "date", id: "edit-died", value: person.died || "" });
  const visibility = h("select", { id: "edit-visibility" }, VISIBILITIES.map(([value, label]) =>
    h("option", { value, selected: value === person.visibility }, label)));
  // textareas hold their text as children: the form's reset (Cancel) goes back to it
  const biography = h("textarea", { id: "edit-biography", rows: "8" }, person.biography || "");
  const notes = h("textarea", { id: "edit-notes", rows: "3" }, person.notes || "");
  const addAliases = h("input", { type: "text", id: "edit-add-aliases", autocomplete: "off" });
  const ids = h("textarea", { id: "edit-external-ids", rows: "2", class: "short" },
    person.externalIds.map((e) => `${e.source}=${e.id}`).join("\n"));
  const removals = person.aliases.map((alias, index) => {
    const box = h("input", { type: "checkbox", id: `edit-remove-alias-${index}`, value: alias });
    return { alias, box, row: h("div", { class: "check" }, box, h("label", { for: box.id }, `Remove “${alias}”`)) };
  });
  const status = h("p", { class: "error", role: "alert" });
  const save = h("button", { type: "submit", class: "primary" }, "Save");

  const form = h("form", { class: "edit-person", novalidate: true, onsubmit: async (event) => {
    event.preventDefault();
    status.textContent = "";
    const changes = {};
    const text = (input, was) => (input.value.trim() !== (was || "") ? input.value.trim() : undefined);
    if (!name.value.trim()) { status.textContent = "A person needs a name."; name.focus(); return; }
    changes.name = text(name, person.name);
    changes.born = text(born, person.born);
    changes.died = text(died, person.died);
    changes.notes = text(notes, person.notes);
    if (biography.value !== (person.biography || "")) changes.biography = biography.value;
    if (visibility.value !== person.visibility) changes.visibility = visibility.value;
    const added = addAliases.value.split(";").map((a) => a.trim()).filter((a) => a && !person.aliases.includes(a));
    if (added.length) changes.addAliases = added;
    const removed = removals.filter((r) => r.box.checked).map((r) => r.alias);
    if (removed.length) changes.removeAliases = removed;
    const external = externalChanges(person.externalIds, ids.value);
    if (typeof external === "string") { status.textContent = external; ids.focus(); return; }
    if (external.length) changes.externalIds = external;
    for (const [key, value] of Object.entries(changes)) if (value === undefined) delete changes[key];
    if (!Object.keys(changes).length) { status.textContent = "Nothing has changed."; return; }
    save.disabled = true;
    try {
      const { editPerson } = await graphql(EDIT_MUTATION, { project: context.project, id: person.id, ...changes });
      toast(`Saved ${editPerson.name}: ${describe(changes)}.`, { undo: () => undoLast(context.base, redraw(context)) });
      again();
    } catch (error) {
      status.textContent = error.message;
      save.disabled = false;
    }
  } },
  h("div", { class: "form-grid" },
    field("Name", name),
    field("Visibility", visibility),
    field("Born", born, "Empty: unknown. Photos before it are never auto-matched."),
    field("Died", died, "Empty: unknown or alive."),
  ),
  h("fieldset", { class: "aliases-edit" }, h("legend", {}, "Aliases"),
    removals.length ? removals.map((r) => r.row) : h("p", { class: "muted" }, "No aliases yet."),
    field("Add aliases", addAliases, "Several separated by “;”.")),
  field("Biography (Markdown)", biography, "Headings, lists, *emphasis*, [links](https://…); HTML is shown as text."),
  field("Editors' notes", notes),
  field("External ids", ids, "One source=id a line, e.g. wikidata=Q42; delete a line to remove it."),
  status,
  h("div", { class: "row" }, save, h("button", { type: "button", onclick: () => {
    form.reset();
    status.textContent = "";
    panel.hidden = true;
    const toggle = document.querySelector('[aria-controls="person-edit"]');
    toggle?.setAttribute("aria-expanded", "false");
    toggle?.focus();
  } }, "Cancel")));
  const panel = h("section", { id: "person-edit", class: "card person-form", hidden: true,
    "aria-labelledby": "person-edit-title" }, h("h2", { id: "person-edit-title" }, `Edit ${person.name}`), form);
  return panel;
}

// The external ids the textarea asks for, against the person's: [{source, id}] with id "" for a removal,
// or a message naming a bad line.
function externalChanges(current, text) {
  const wanted = new Map();
  for (const [index, line] of text.split("\n").entries()) {
    if (!line.trim()) continue;
    const at = line.indexOf("=");
    if (at <= 0 || !line.slice(at + 1).trim()) return `External ids, line ${index + 1}: write source=id.`;
    wanted.set(line.slice(0, at).trim(), line.slice(at + 1).trim());
  }
  const had = new Map(current.map((e) => [e.source, e.id]));
  const out = [];
  for (const [source, id] of wanted) if (had.get(source) !== id) out.push({ source, id });
  for (const source of had.keys()) if (!wanted.has(source)) out.push({ source, id: "" });
  return out;
}

const FIELD_NAMES = { name: "name", born: "born", died: "died", biography: "biography", notes: "notes",
  visibility: "visibility", addAliases: "aliases added", removeAliases: "aliases removed",
  externalIds: "external ids" };

function describe(changes) {
  return Object.keys(changes).map((key) => FIELD_NAMES[key] || key).join(", ");
}

// ---------------------------------------------------------------------------------------------- merging

// A conflict's field as an editor knows it: a face (decided one way for one, the other way for the other) as
// its crop rather than its 19-digit id.
function conflictField(context, name) {
  const face = /^face (\d+)$/.exec(name);
  if (!face) return name;
  return h("span", { class: "conflict-face" },
    h("img", { src: cropUrl(context, face[1]), alt: `Face ${face[1]}`, width: "48", height: "48" }), "a face");
}

function mergeSection(context, person) {
  const listId = "merge-candidates";
  const other = h("input", { type: "text", id: "merge-other", list: listId, autocomplete: "off",
    placeholder: "Start typing a name" });
  const options = h("datalist", { id: listId });
  const status = h("p", { class: "error", role: "alert" });
  const conflictsBox = h("div", { class: "conflicts", "aria-live": "polite" });
  let candidates = [];  // the latest search's people, but this one

  async function suggest(text) {
    const query = new URLSearchParams({ search: text, limit: 20, include_hidden: true });
    const { body } = await api(`${context.base}/people?${query}`);
    candidates = body.filter((p) => p.person_id !== person.id);
    return candidates;
  }

  const suggestLater = debounce(async () => {
    try {
      const found = await suggest(other.value.replace(/\s*\([^()]*\)\s*$/, "").trim());
      replace(options, found.map((p) => h("option", { value: `${p.name} (${p.person_id})` },
        p.aliases.length ? `also ${p.aliases.join(", ")}` : `${plural(p.photo_count, "photo")}`)));
    } catch (error) {
      showError(error);
    }
  }, 200);
  other.addEventListener("input", suggestLater);
  other.addEventListener("focus", suggestLater, { once: true });

  // The person the field names: "Name (id)" as a suggestion reads, an id, or a name only one person has.
  async function chosen() {
    const text = other.value.trim();
    if (!text) return null;
    const tail = text.match(/\(([^()]+)\)\s*$/);
    const pool = candidates.length ? candidates : await suggest(text);
    const pick = (list) => (tail && list.find((p) => p.person_id === tail[1]))
      || list.find((p) => p.person_id === text)
      || (list.filter((p) => p.name.toLowerCase() === text.toLowerCase()).length === 1
        ? list.find((p) => p.name.toLowerCase() === text.toLowerCase()) : null);
    return pick(pool) || pick(await suggest(tail ? text.slice(0, tail.index).trim() : text));
  }

  async function merge(mergedPerson, prefer, button) {
    button.disabled = true;
    try {
      const { mergePeople } = await graphql(MERGE_MUTATION, { project: context.project, keptId: person.id,
        mergedId: mergedPerson.person_id, prefer });
      const winner = prefer === person.id ? person.name : mergedPerson.name;
      const settled = mergePeople.conflicts.length
        ? ` (${plural(mergePeople.conflicts.length, "conflict")} settled: ${winner}'s values won)` : "";
      toast(`Merged ${mergedPerson.name} into ${person.name}${settled}.`,
        { undo: () => undoLast(context.base, redraw(context)) });
      context.go(personHash(mergePeople.personId || person.id));
    } catch (error) {
      const conflicts = error instanceof ApiError && error.body && error.body.errors
        ? error.body.errors[0].extensions?.conflicts : null;
      button.disabled = false;
      if (conflicts && conflicts.length && !prefer) showConflicts(mergedPerson, conflicts);
      else status.textContent = error.message;
    }
  }

  function showConflicts(mergedPerson, conflicts) {
    const mine = h("input", { type: "radio", name: "prefer", id: "prefer-kept", value: person.id, checked: true });
    const theirs = h("input", { type: "radio", name: "prefer", id: "prefer-merged", value: mergedPerson.person_id });
    const go = h("button", { type: "button", class: "primary", onclick: () =>
      merge(mergedPerson, theirs.checked ? mergedPerson.person_id : person.id, go) }, "Merge with these values");
    replace(conflictsBox,
      h("h3", { id: "merge-conflicts-title" }, `${person.name} and ${mergedPerson.name} disagree`),
      h("div", { class: "table-wrap" }, h("table", { "aria-labelledby": "merge-conflicts-title" },
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Field"),
          h("th", { scope: "col" }, `${person.name} (this person)`), h("th", { scope: "col" }, mergedPerson.name))),
        h("tbody", {}, conflicts.map((c) => h("tr", {},
          h("th", { scope: "row" }, conflictField(context, c.field)), h("td", {}, String(c.kept ?? "")),
          h("td", {}, String(c.merged ?? ""))))))),
      h("fieldset", {}, h("legend", {}, "Whose values win"),
        h("div", { class: "check" }, mine, h("label", { for: "prefer-kept" }, `Keep this person's (${person.name})`)),
        h("div", { class: "check" }, theirs,
          h("label", { for: "prefer-merged" }, `Take the other's (${mergedPerson.name})`))),
      h("p", { class: "help" }, "The values that lose are kept in the editors' notes. The merge can be undone."),
      h("div", { class: "row" }, go,
        h("button", { type: "button", onclick: () => { replace(conflictsBox); other.focus(); } }, "Cancel")));
    mine.focus();
  }

  const check = h("button", { type: "submit", class: "primary" }, "Merge into this person");
  const form = h("form", { onsubmit: async (event) => {
    event.preventDefault();
    status.textContent = "";
    replace(conflictsBox);
    try {
      const found = await chosen();
      if (!found) {
        status.textContent = other.value.trim()
          ? `No one else is “${other.value.trim()}”: pick a person from the suggestions.`
          : "Name the person to merge into this one.";
        other.focus();
        return;
      }
      await merge(found, null, check);
    } catch (error) {
      status.textContent = error.message;
    }
  } },
  field("Person to merge into this one", other, `Their faces, aliases, teams and relations become ${person.name}'s; `
    + "where the two disagree you choose whose values win."),
  options, status, h("div", { class: "row" }, check));
  return h("section", { id: "person-merge", class: "card person-form", hidden: true,
    "aria-labelledby": "person-merge-title" },
    h("h2", { id: "person-merge-title" }, `Merge another person into ${person.name}`), form, conflictsBox);
}
