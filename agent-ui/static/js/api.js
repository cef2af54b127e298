// JSON requests to /api/v1 with the session cookie. A failure throws an Error carrying the server's code, message and fields;
// a lost session sends the page back to sign in.

export async function api(method, path, body) {
  const opt = { method, credentials: 'same-origin', headers: {} };
  if (body !== undefined) {
    opt.headers['Content-Type'] = 'application/json';
    opt.body = JSON.stringify(body);
  }
  const res = await fetch('/api/v1' + path, opt);
  if (res.status === 204) return null;
  let data = null;
  try { data = await res.json(); } catch { data = null; }
  if (!res.ok) {
    if (res.status === 401 && path !== '/login') location.assign('/');
    const e = new Error((data && data.error && data.error.message) || res.statusText);
    e.code = data && data.error && data.error.code;
    e.fields = (data && data.error && data.error.fields) || {};
    e.status = res.status;
    throw e;
  }
  return data;
}
