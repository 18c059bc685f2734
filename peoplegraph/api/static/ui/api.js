// The REST and GraphQL API as the browser session calls it: every write carries the session's CSRF token,
// and a refusal becomes an ApiError whose message is the server's own (it names the field or the problem).

export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

let csrf = "";
export function setCsrf(token) { csrf = token || ""; }

function detail(body, response) {
  if (body && typeof body === "object" && body.detail) return String(body.detail);
  if (typeof body === "string" && body.trim()) return body.trim().slice(0, 300);
  return `${response.status} ${response.statusText}`;
}

// path: "/projects/p/clusters?limit=50"; options: method, json (a body), form (FormData), headers.
// Answers {body, total} (total from X-Total-Count, NaN when absent).
export async function api(path, { method = "GET", json, form, headers = {} } = {}) {
  const init = { method, credentials: "same-origin", headers: { Accept: "application/json", ...headers } };
  if (!["GET", "HEAD"].includes(method)) init.headers["X-CSRF-Token"] = csrf;
  if (json !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(json);
  } else if (form) {
    init.body = form;
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    throw new ApiError(0, "the server cannot be reached: is `peoplegraph serve` still running?", null);
  }
  const text = await response.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch { body = text; }
  if (!response.ok) throw new ApiError(response.status, detail(body, response), body);
  return { body, total: Number(response.headers.get("X-Total-Count") ?? Number.NaN) };
}

export async function graphql(query, variables = {}) {
  const { body } = await api("/graphql", { method: "POST", json: { query, variables } });
  if (body.errors && body.errors.length) {
    const first = body.errors[0];
    throw new ApiError(200, first.message, body);
  }
  return body.data;
}

// An upload with progress (fetch cannot report a request body's progress): resolves to the JSON answer.
export function upload(path, form, onProgress) {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open("POST", path);
    request.setRequestHeader("X-CSRF-Token", csrf);
    request.setRequestHeader("Accept", "application/json");
    request.upload.onprogress = (event) => { if (event.lengthComputable) onProgress(event.loaded, event.total); };
    request.onerror = () => reject(new ApiError(0, "the upload was cut off: is the server still running?", null));
    request.onload = () => {
      let body = null;
      try { body = JSON.parse(request.responseText); } catch { body = request.responseText; }
      if (request.status >= 200 && request.status < 300) resolve(body);
      else reject(new ApiError(request.status, detail(body, { status: request.status, statusText: "" }), body));
    };
    request.send(form);
  });
}
