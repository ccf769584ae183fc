// The HTTP API as the dashboard uses it: the operator's bearer token from sessionStorage on every request, problems
// (application/problem+json) turned into ApiError with the API's own title, detail and field errors.

const TOKEN_KEY = 'pandafuzz.token';
const unauthorizedListeners = [];

export const token = {
  get: () => sessionStorage.getItem(TOKEN_KEY),
  set: (value) => sessionStorage.setItem(TOKEN_KEY, value),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

/** A refused or failed request; `problem` is the API's problem document (title, detail, errors by field). */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

/** Calls `listener(error)` on every 401: the dashboard then asks for a token, showing the API's message. */
export const onUnauthorized = (listener) => unauthorizedListeners.push(listener);

/**
 * One API call under /api/v1. `json` sends a JSON body, `body` raw bytes (a File or Blob). Answers the parsed JSON,
 * or the Response itself with `raw: true` (for headers such as X-Total-Count, or a binary body).
 */
export async function api(path, { method = 'GET', json, body, raw = false } = {}) {
  const headers = { Accept: 'application/json, application/problem+json' };
  const bearer = token.get();
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  let payload = body;
  if (json !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(json);
  } else if (body !== undefined) {
    headers['Content-Type'] = 'application/octet-stream';
  }

  let response;
  try {
    response = await fetch(`/api/v1${path}`, { method, headers, body: payload, cache: 'no-store' });
  } catch (failure) {
    throw new ApiError(0, { title: 'The master cannot be reached', detail: failure.message });
  }

  if (!response.ok) {
    let problem;
    try {
      problem = await response.json();
    } catch {
      problem = { title: response.statusText || 'Request failed', detail: `the master answered HTTP ${response.status}` };
    }
    const error = new ApiError(response.status, problem);
    if (response.status === 401) unauthorizedListeners.forEach((listener) => listener(error));
    throw error;
  }

  return raw ? response : response.json();
}

/** A list route's page and its X-Total-Count. */
export async function list(path) {
  const response = await api(path, { raw: true });
  return { items: await response.json(), total: Number(response.headers.get('X-Total-Count') ?? 0) };
}

/** The bytes of a binary route, fetched with the token (a plain link could not send it). */
export async function bytes(path) {
  const response = await api(path, { raw: true });
  return new Uint8Array(await response.arrayBuffer());
}

/** Saves a binary route's body as a file: fetched with the token, handed to the browser as a blob URL. */
export async function download(path, fileName) {
  const response = await api(path, { raw: true });
  const url = URL.createObjectURL(await response.blob());
  const link = Object.assign(document.createElement('a'), { href: url, download: fileName });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
