import type * as http2 from "node:http2";

/**
 * A Node header value as connect reads it: absent is null, repeated values joined with ", ".
 *
 * @example
 * parseTimeout(headerValue(headers["grpc-timeout"]), Number.MAX_SAFE_INTEGER);
 */
export function headerValue(v: string | string[] | undefined): string | null {
  if (v === undefined) return null;
  return typeof v === "string" ? v : v.join(", ");
}

/**
 * A Node headers object as web Headers, pseudo-headers left out (what connect-node gives
 * interceptors).
 *
 * @example
 * webHeaders({ ":path": "/a.B/C", "x-id": ["1", "2"] }).get("x-id"); // "1, 2"
 */
export function webHeaders(node: http2.IncomingHttpHeaders): Headers {
  const h = new Headers();
  for (const k in node) {
    if (k.charCodeAt(0) === 58 /* : */) continue;
    const v = node[k];
    if (v === undefined) continue;
    if (typeof v === "string") h.append(k, v);
    else for (const e of v) h.append(k, e);
  }
  return h;
}

/**
 * Copies web Headers into a Node headers object (as connect-node's `webHeaderToNodeHeaders`
 * does): a name already there gets the value added, except `content-type` and `date`, which
 * are replaced — a response has one of each, the handler's own or ours.
 *
 * @example
 * const out = { ":status": 200, "content-type": "application/grpc+proto", date: utcDate() };
 * stream.respond(nodeHeadersInto(out, ctx.responseHeader));
 */
export function nodeHeadersInto(out: http2.OutgoingHttpHeaders, h: Headers): http2.OutgoingHttpHeaders {
  h.forEach((value, key) => {
    const existing = out[key];
    if (existing === undefined || key === "content-type" || key === "date") out[key] = value;
    else if (Array.isArray(existing)) existing.push(value);
    else out[key] = [String(existing), value];
  });
  return out;
}

/**
 * Makes `to` hold exactly what `from` holds: the headers an interceptor answered with become
 * the call's own.
 *
 * @example
 * copyHeaders(res.header, ctx.responseHeader);
 */
export function copyHeaders(from: Headers, to: Headers): void {
  if (from === to) return;
  for (const key of [...to.keys()]) to.delete(key);
  from.forEach((value, key) => to.set(key, value));
}

let dateCache: string | undefined;

/**
 * The `date` header Node's compatibility API adds to every response, cached until the second
 * turns: formatting a date per call costs more than the rest of the headers.
 *
 * @example
 * stream.respond({ ":status": 200, date: utcDate() });
 */
export function utcDate(): string {
  if (dateCache === undefined) {
    dateCache = new Date().toUTCString();
    setTimeout(() => (dateCache = undefined), 1000 - (Date.now() % 1000)).unref();
  }
  return dateCache;
}
