// Uploading photos: many at once by drag and drop or a file picker, the bytes' progress, then the ingest
// job's own progress from its server-sent events, and the clusters it made when it ends. `#/upload/<job>`
// follows a job started elsewhere (re-clustering the whole project).
import { api, upload } from "./api.js";
import { h, plural, replace, showError } from "./dom.js";

const ACCEPT = "image/*,.heic,.heif,.jpg,.jpeg,.png,.webp,.tif,.tiff,.bmp";
const BEFORE = 500;
const UNITS = { ingesting: "file", "reading metadata": "photo", matching: "face", clustering: "face", thumbnails: "photo" };  // what a stage counts  // unnamed clusters remembered before an upload, to show the new ones after it

export async function render(main, context, jobId) {
  const page = new UploadPage(main, context);
  if (jobId) page.follow(jobId, new Set());
  return () => page.stop();
}

function seconds(value) {
  if (value === null || value === undefined) return "";
  return value >= 90 ? `${Math.round(value / 60)} min left` : `${Math.round(value)} s left`;
}

class UploadPage {
  constructor(main, context) {
    this.base = context.base;
    this.files = [];
    this.events = null;
    this.input = h("input", { id: "photos", type: "file", multiple: true, accept: ACCEPT, class: "visually-hidden",
      onchange: () => this.choose([...this.input.files]) });
    this.chosen = h("p", { class: "muted", id: "chosen" }, "No photos chosen yet.");
    this.send = h("button", { type: "button", class: "primary", disabled: true, onclick: () => this.start() }, "Upload");
    this.bar = h("progress", { max: 1, value: 0, "aria-labelledby": "upload-status" });
    this.status = h("p", { id: "upload-status", role: "status" });
    this.stages = h("ol", { class: "stages", "aria-label": "The job's stages" });
    this.result = h("div");
    const drop = h("div", { class: "drop",
      ondragover: (event) => { event.preventDefault(); drop.classList.add("over"); },
      ondragleave: () => drop.classList.remove("over"),
      ondrop: (event) => { event.preventDefault(); drop.classList.remove("over"); this.choose([...event.dataTransfer.files]); } },
    h("p", {}, "Drop photos here, or"),
    h("label", { for: "photos", class: "button-like" }, "Choose photos…"), this.input);
    replace(main, h("h1", {}, "Upload photos"),
      h("p", { class: "muted" }, "Faces are found, matched to the people you named and grouped into clusters. ",
        "Photos already in the project are recognised and not stored twice."),
      drop, this.chosen, h("div", { class: "row" }, this.send), this.bar, this.status, this.stages, this.result);
  }

  stop() { if (this.events) this.events.close(); }

  choose(files) {
    this.files = files.filter((f) => f.size > 0);
    const bytes = this.files.reduce((sum, f) => sum + f.size, 0);
    this.chosen.textContent = this.files.length
      ? `${plural(this.files.length, "photo")} chosen (${(bytes / 1e6).toFixed(1)} MB).` : "No photos chosen yet.";
    this.send.disabled = this.files.length === 0;
  }

  async start() {
    this.send.disabled = true;
    replace(this.result);
    const form = new FormData();
    for (const file of this.files) form.append("photos", file, file.name);
    try {
      const { body: before } = await api(`${this.base}/clusters?status=unnamed&limit=${BEFORE}`);
      this.status.textContent = "Uploading…";
      const accepted = await upload(`${this.base}/photos`, form, (sent, total) => {
        this.bar.max = total;
        this.bar.value = sent;
        this.status.textContent = `Uploading: ${(sent / 1e6).toFixed(1)} of ${(total / 1e6).toFixed(1)} MB`;
      });
      this.follow(accepted.jobs[0], new Set(before.map((c) => c.id)));
    } catch (error) {
      this.status.textContent = "";
      showError(error);
      this.send.disabled = false;
    }
  }

  follow(jobId, known) {
    this.status.textContent = "Waiting for a worker…";
    replace(this.stages);
    this.events = new EventSource(`/jobs/${encodeURIComponent(jobId)}/events`);
    this.events.addEventListener("progress", (event) => this.progress(JSON.parse(event.data)));
    this.events.addEventListener("end", (event) => {
      this.events.close();
      this.end(JSON.parse(event.data), known);
    });
    this.events.onerror = () => {
      if (this.events.readyState === EventSource.CLOSED) this.status.textContent = "Lost the job's progress: reload to see it.";
    };
  }

  progress(job) {
    const p = job.progress;
    if (!p || p.stage === "done") { this.status.textContent = `Job ${job.state.replaceAll("_", " ")}…`; return; }
    this.bar.max = Math.max(p.total, 1);
    this.bar.value = p.done;
    const rate = p.per_s ? ` · ${p.per_s}/s` : "";
    const text = `${p.stage[0].toUpperCase()}${p.stage.slice(1)}: ${p.done} of ${p.total}${rate}` +
      `${p.faces !== undefined ? ` · ${plural(p.faces, "face")}` : ""}${p.eta_s ? ` · ${seconds(p.eta_s)}` : ""}`;
    this.status.textContent = text;
    this.stage(p.stage, text);
  }

  // The stages seen so far, each with its last count: a short job's stages stay readable after they pass.
  stage(name, text) {
    let item = this.stages.querySelector(`[data-stage="${name}"]`);
    if (!item) {
      for (const done of this.stages.children) done.classList.add("passed");
      item = this.stages.appendChild(h("li", { dataset: { stage: name } }));
    }
    item.textContent = text;
  }

  async end(job, known) {
    if (job.state === "failed") {
      this.status.textContent = `The job failed: ${job.error}`;
      this.send.disabled = false;
      return;
    }
    this.bar.value = this.bar.max;
    const result = job.result || {};
    // the result lists every stage (events are sampled: a short one may have passed unseen)
    if (result.stages) replace(this.stages);
    for (const { stage, total, seconds: took } of result.stages || []) {
      this.stage(stage, `${stage[0].toUpperCase()}${stage.slice(1)}: ${plural(total ?? 0, UNITS[stage] ?? "item")} in ` +
        `${took < 10 ? took.toFixed(1) : Math.round(took)} s`);
    }
    for (const done of this.stages.children) done.classList.add("passed");
    const skipped = result.skipped || [];
    this.status.textContent = result.new_photos === undefined ? "Done."
      : `Done: ${plural(result.new_photos, "new photo")}, ${plural(result.faces, "face")} found` +
        (result.metadata?.confirmed ? `, ${plural(result.metadata.confirmed, "face")} named by the files' XMP` : "") +
        (result.matching?.auto ? `, ${result.matching.auto} recognised` : "") +
        (result.matching?.review ? `, ${result.matching.review} for review` : "") +
        (skipped.length ? `, ${plural(skipped.length, "file")} skipped` : "") + ".";
    const { body: after } = await api(`${this.base}/clusters?status=unnamed&limit=${BEFORE}`);
    const fresh = after.filter((c) => !known.has(c.id));
    replace(this.result,
      skipped.length ? h("section", {}, h("h2", {}, "Skipped"), h("ul", {}, skipped.map((s) => h("li", {}, `${s.path}: ${s.reason}`))))
        : null,
      h("h2", {}, fresh.length ? `New clusters (${fresh.length})` : "No new clusters"),
      h("ul", { class: "plain people-list" }, fresh.slice(0, 24).map((c) => h("li", {},
        h("a", { href: `#/clusters/${c.id}`, class: "cluster-card" },
          h("img", { src: c.crop, alt: "", width: 48, height: 48 }),
          h("span", {}, `Cluster ${c.id}`, h("br"), h("span", { class: "muted" }, plural(c.size, "face"))))))),
      h("p", {}, h("a", { href: "#/clusters" }, "Review the clusters")));
    this.files = [];
    this.chosen.textContent = "No photos chosen yet.";
  }
}
