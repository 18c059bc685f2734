// Share links: a guest link to the whole project, one event or an album of photos, with an expiry and a
// password; its address is shown once, to copy; links are listed (never their tokens) and revoked.
import { api } from "./api.js";
import { field, h, replace, showError, toast } from "./dom.js";

export async function render(main, context) {
  const page = new ShareLinksPage(main, context);
  await page.load();
}

class ShareLinksPage {
  constructor(main, context) {
    this.base = context.base;
    this.event = h("input", { id: "link-event", type: "text", placeholder: "the whole project" });
    this.album = h("input", { id: "link-album", type: "text", placeholder: "photo ids, comma separated" });
    this.hours = h("input", { id: "link-hours", type: "number", min: "1", step: "1", placeholder: "never" });
    this.password = h("input", { id: "link-password", type: "password", autocomplete: "new-password" });
    this.issued = h("div", { "aria-live": "polite" });
    this.table = h("div");
    replace(main, h("h1", {}, "Share links"),
      h("p", { class: "muted" }, "A guest opens the link, takes a selfie and gets the photos they are in: nothing else ",
        "of the project. Searches are rate-limited per link and per guest."),
      h("form", { class: "card toolbar", onsubmit: (event) => { event.preventDefault(); this.create(); } },
        field("Event id", this.event, "Only the photos of this event (optional)."),
        field("Album", this.album, "Only these photos (optional)."),
        field("Expires after (hours)", this.hours, "Empty: never."),
        field("Password (optional)", this.password),
        h("button", { type: "submit", class: "primary" }, "Create link")),
      this.issued, h("h2", {}, "Links of this project"), this.table);
  }

  async create() {
    replace(this.issued);  // an earlier link's address must not pass for this one's
    const album = this.album.value.split(/[\s,]+/).filter(Boolean);
    const body = { event_id: this.event.value.trim(), password: this.password.value };
    if (album.length) body.album = album;
    if (this.hours.value) body.expires_in_hours = Number(this.hours.value);
    try {
      const { body: link } = await api(`${this.base}/share-links`, { method: "POST", json: body });
      const url = new URL(link.url, location.origin).href;
      const shown = h("input", { id: "new-link", type: "text", readonly: true, value: url, class: "grow url" });
      replace(this.issued, h("section", { class: "card" },
        h("h2", {}, "New link"),
        h("p", {}, "Copy it now: its address is not shown again."),
        h("div", { class: "row" }, h("label", { for: "new-link", class: "visually-hidden" }, "The new link"), shown,
          h("button", { type: "button", class: "primary", onclick: () => this.copy(shown) }, "Copy"),
          h("a", { href: url, target: "_blank", rel: "noopener" }, "Open as a guest"))));
      this.password.value = "";
      shown.select();
      await this.load();
    } catch (error) { showError(error); }
  }

  async copy(input) {
    try {
      await navigator.clipboard.writeText(input.value);
      toast("Link copied.");
    } catch {
      input.select();
      toast("Press Ctrl+C (⌘C) to copy the selected link.");
    }
  }

  async load() {
    const { body } = await api(`${this.base}/share-links`);
    if (!body.length) { replace(this.table, h("p", { class: "muted" }, "No links yet.")); return; }
    const scope = (link) => (link.album.length ? `album of ${link.album.length}` : link.event_id ? `event ${link.event_id}` : "whole project");
    const status = (link) => (link.revoked_at ? `revoked ${link.revoked_at}` : link.expires_at && new Date(link.expires_at) < new Date()
      ? `expired ${link.expires_at}` : link.expires_at ? `until ${link.expires_at}` : "active");
    replace(this.table, h("div", { class: "table-wrap" }, h("table", {},
      h("thead", {}, h("tr", {}, ["Link", "Scope", "Password", "Made by", "Made", "Status"].map((t) => h("th", { scope: "col" }, t)),
        h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Actions")))),
      h("tbody", {}, body.map((link) => h("tr", { dataset: { link: link.link_id } },
        h("td", {}, link.link_id), h("td", {}, scope(link)), h("td", {}, link.has_password ? "yes" : "no"),
        h("td", {}, link.created_by), h("td", {}, link.created_at), h("td", {}, status(link)),
        h("td", {}, link.revoked_at ? "" : h("button", { type: "button", class: "danger",
          "aria-label": `Revoke link ${link.link_id}`, onclick: () => this.revoke(link.link_id) }, "Revoke"))))))));
  }

  async revoke(linkId) {
    if (!window.confirm(`Revoke link ${linkId}? Guests using it lose access at once; this cannot be undone.`)) return;
    try {
      await api(`${this.base}/share-links/${encodeURIComponent(linkId)}`, { method: "DELETE" });
      toast(`Link ${linkId} revoked: it stops working at once.`);
      await this.load();
    } catch (error) { showError(error); }
  }
}
