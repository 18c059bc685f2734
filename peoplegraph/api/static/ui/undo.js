// Undo, as every section offers it: the latest action goes, the editor is told which, the section redraws.
import { api } from "./api.js";
import { showError, toast } from "./dom.js";

export async function undoLast(base, redraw) {
  try {
    const { body } = await api(`${base}/undo`, { method: "POST" });
    toast(`Undone: ${body.action.replace(/^undo[ _]/, "").replaceAll("_", " ")}.`);
    await redraw();
  } catch (error) { showError(error); }
}
