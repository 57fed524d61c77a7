/**
 * `GET /docs`: one self-contained HTML page (no CDN, no external file: these servers often
 * have no internet) that renders the OpenAPI document of {@link createOpenApiDocument}:
 * every method and HTTP route with its request and response fields, and for each a
 * "try it" form and a curl line to copy.
 *
 * - Unary methods are called with Connect JSON (`POST`, `application/json`); server streams
 *   with the Connect streaming protocol (`application/connect+json`, enveloped messages),
 *   each message shown as it arrives and the end-of-stream error, if any, after them.
 * - Tensors are written and shown as nested arrays of numbers: the page turns them into
 *   `{shape, dtype, data: base64}` (little-endian, row-major) with the dtype the schema
 *   declares, and back.
 * - When the document declares `bearerAuth`, an "Authorize" field keeps a token (in the
 *   tab's sessionStorage) that every call and every curl line carries.
 *
 * Everything from the document is put in the page as text (`textContent`), never as HTML.
 *
 * @example
 * const html = docsPage(createOpenApiDocument({ title: "iris", services, bearerAuth: true }));
 */
export function docsPage(doc: Record<string, unknown>): string {
  // "<" escaped, so that no string in the document can end the script element.
  const json = JSON.stringify(doc)
    .replace(/</g, "\\u003c")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
  const title = escapeHtml(String((doc.info as { title?: unknown } | undefined)?.title ?? "API"));
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} — BlazeRPC API</title>
<style>${STYLE}</style>
</head>
<body>
<header>
  <h1>${title}</h1>
  <p id="intro"></p>
  <p>OpenAPI document: <a href="openapi.json">openapi.json</a> · health: <a href="healthz">/healthz</a>, <a href="readyz">/readyz</a> · metrics: <a href="metrics">/metrics</a></p>
  <form id="auth" class="auth" hidden>
    <label for="token">Authorize</label>
    <input id="token" type="password" autocomplete="off" spellcheck="false" placeholder="bearer token">
    <button id="authorize" type="submit">Authorize</button>
    <button id="logout" type="button" class="secondary">Log out</button>
    <span id="auth-state" class="muted"></span>
  </form>
</header>
<main id="methods"></main>
<script type="application/json" id="openapi">${json}</script>
<script>${SCRIPT}</script>
</body>
</html>
`;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

const STYLE = `
  :root { --fg: #1d2330; --muted: #5b6475; --line: #dde1e8; --accent: #2f5fd0; --bg: #f7f8fa; --bad: #b3261e; }
  * { box-sizing: border-box; }
  [hidden] { display: none !important; }
  body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
  header { padding: 24px 32px; background: #fff; border-bottom: 1px solid var(--line); }
  header h1 { margin: 0 0 4px; font-size: 24px; }
  header p { margin: 4px 0; color: var(--muted); max-width: 60em; white-space: pre-wrap; }
  .auth { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; margin-top: 12px; }
  .auth label { font-weight: 600; }
  .auth input { font: 13px ui-monospace, monospace; padding: 6px 8px; border: 1px solid var(--line); border-radius: 6px; min-width: 22em; }
  main { padding: 24px 32px; max-width: 1100px; }
  h2 { font-size: 18px; margin: 24px 0 4px; }
  h2 + p { margin: 0 0 12px; color: var(--muted); white-space: pre-wrap; }
  details.method { background: #fff; border: 1px solid var(--line); border-radius: 8px; margin: 0 0 16px; }
  details.method > summary { padding: 12px 16px; cursor: pointer; list-style: none; display: flex; gap: 10px; align-items: baseline; flex-wrap: wrap; }
  .verb { font: 600 12px ui-monospace, monospace; padding: 2px 6px; border-radius: 4px; color: #fff; background: var(--accent); }
  .verb.get { background: #2a8a4a; }
  .verb.stream { background: #8a5a2a; }
  .verb.delete { background: var(--bad); }
  code, pre, textarea, input.url { font: 13px/1.4 ui-monospace, SFMono-Regular, Menlo, monospace; }
  .path { font-weight: 600; word-break: break-all; }
  .summary, .muted { color: var(--muted); }
  .body { padding: 0 16px 16px; }
  table { border-collapse: collapse; width: 100%; margin: 8px 0 16px; }
  th, td { text-align: left; vertical-align: top; padding: 6px 8px; border-bottom: 1px solid var(--line); }
  th { font-size: 12px; text-transform: uppercase; color: var(--muted); }
  td.type { font-family: ui-monospace, monospace; white-space: nowrap; }
  textarea { width: 100%; min-height: 120px; padding: 8px; border: 1px solid var(--line); border-radius: 6px; }
  input.url { width: 100%; padding: 6px 8px; border: 1px solid var(--line); border-radius: 6px; }
  button { font: inherit; padding: 6px 14px; border: 0; border-radius: 6px; background: var(--accent); color: #fff; cursor: pointer; }
  button.secondary { background: #e6e9ef; color: var(--fg); }
  .actions { display: flex; gap: 8px; align-items: center; margin: 8px 0; }
  .status { font: 600 13px ui-monospace, monospace; }
  .status.bad, .note.bad { color: var(--bad); }
  pre.result, ol.messages pre, pre.wire, pre.curl { background: #0f1420; color: #e7ecf5; padding: 12px; border-radius: 6px; overflow: auto; max-height: 360px; margin: 4px 0; }
  pre.result.bad, .stream-end.bad pre { border-left: 4px solid var(--bad); }
  pre.curl { white-space: pre-wrap; word-break: break-all; }
  ol.messages { padding-left: 2em; margin: 4px 0; }
  ol.messages pre { max-height: 200px; }
  .stream-end { margin: 8px 0; }
  .stream-end.bad { color: var(--bad); }
  .desc, .note { white-space: pre-wrap; }
  .note { font-size: 13px; color: var(--muted); margin: 4px 0; }
`;

// The page's script: plain JavaScript that the browser runs as is (no build step, no
// template substitution: it holds no backquote and no dollar-brace).
const SCRIPT = String.raw`
"use strict";
(function () {
  var doc = JSON.parse(document.getElementById("openapi").textContent);
  var schemas = (doc.components && doc.components.schemas) || {};
  var auth = !!(doc.components && doc.components.securitySchemes && doc.components.securitySchemes.bearerAuth);
  var TENSOR = "blazerpc.v1.TensorProto";
  var REF = "#/components/schemas/";
  // The server's root: the page may sit under a path prefix (a proxy); calls stay relative to it.
  var base = location.pathname.replace(/docs\/?$/, "");
  var root = location.origin + base;

  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") e.textContent = attrs[k];
      else if (attrs[k] !== undefined && attrs[k] !== null) e.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { if (c) e.appendChild(c); });
    return e;
  }
  function put(obj, key, value) {
    // Keys come from the user's JSON: "__proto__" stays a plain key.
    Object.defineProperty(obj, key, { value: value, enumerable: true, writable: true, configurable: true });
  }

  // ---- the token ----
  var TOKEN_KEY = "blazerpc.docs.token";
  var memoryToken = "";
  function token() {
    try { return sessionStorage.getItem(TOKEN_KEY) || ""; } catch (e) { return memoryToken; }
  }
  function setToken(t) {
    memoryToken = t;
    try { if (t) sessionStorage.setItem(TOKEN_KEY, t); else sessionStorage.removeItem(TOKEN_KEY); } catch (e) { /* private mode: memory only */ }
  }
  // isPublic: an operation whose security is [] (health routes) gets no token.
  function headers(extra, isPublic) {
    var h = {};
    Object.keys(extra).forEach(function (k) { h[k] = extra[k]; });
    if (auth && !isPublic && token()) h.authorization = "Bearer " + token();
    return h;
  }
  var onTokenChange = [];
  function tokenChanged() {
    var state = document.getElementById("auth-state");
    state.textContent = token() ? "Authorized: every call sends authorization: Bearer \u2026" : "Not authorized: calls are sent without a token.";
    onTokenChange.forEach(function (f) { f(); });
  }
  if (auth) {
    var form = document.getElementById("auth");
    var input = document.getElementById("token");
    form.hidden = false;
    input.value = token();
    form.addEventListener("submit", function (ev) { ev.preventDefault(); setToken(input.value.trim()); tokenChanged(); });
    document.getElementById("logout").addEventListener("click", function () { setToken(""); input.value = ""; tokenChanged(); });
  }

  // ---- schemas ----
  function refName(s) { return s && typeof s.$ref === "string" && s.$ref.indexOf(REF) === 0 ? s.$ref.slice(REF.length) : undefined; }
  function resolve(s) {
    for (var i = 0; s && s.$ref && i < 32; i++) s = schemas[refName(s)];
    return s || {};
  }
  function isTensor(s) { return refName(s) === TENSOR; }
  function tensorLabel(t) { return "tensor " + t.dtype + " [" + (t.shape || []).join(", ") + "]"; }
  function typeLabel(s, spec) {
    if (!s) return "any";
    spec = s["x-blazerpc-tensor"] || spec;
    if (isTensor(s)) return spec ? tensorLabel(spec) : "tensor";
    if (s.$ref) return refName(s) || s.$ref;
    if (s.type === "array") return typeLabel(s.items, spec) + "[]";
    if (s.type === "object" && s.additionalProperties && typeof s.additionalProperties === "object") return "map<string, " + typeLabel(s.additionalProperties, spec) + ">";
    if (s.enum) return s.enum.map(String).join(" | ");
    if (s.const !== undefined) return JSON.stringify(s.const);
    var t = Array.isArray(s.type) ? s.type.join(" | ") : (s.type || "any");
    return s.format ? t + " (" + s.format + ")" : t;
  }
  function schemaView(schema, seen) {
    var s = resolve(schema);
    if (!s.properties) return el("p", { class: "desc", text: typeLabel(schema) + (s.description ? " \u2014 " + s.description : "") });
    var rows = Object.keys(s.properties).map(function (k) {
      var p = s.properties[k];
      var cell = el("td", { class: "desc", text: p.description || (p.$ref && !isTensor(p) ? resolve(p).description || "" : "") });
      var inner = p.type === "array" ? p.items : p.type === "object" && typeof p.additionalProperties === "object" ? p.additionalProperties : p;
      var name = refName(inner);
      var nested = inner && !isTensor(inner) && resolve(inner).properties && (!name || seen.indexOf(name) < 0);
      if (nested) cell.appendChild(el("details", {}, [el("summary", { text: name || "fields" }), schemaView(inner, name ? seen.concat([name]) : seen)]));
      return el("tr", {}, [el("td", {}, [el("code", { text: k })]), el("td", { class: "type", text: typeLabel(p) }), cell]);
    });
    return el("table", {}, [el("tr", {}, [el("th", { text: "field" }), el("th", { text: "type" }), el("th", { text: "description" })])].concat(rows));
  }
  // Applies fn(value, spec, where) to every tensor in value, as the schema types it.
  function mapTensors(value, schema, fn, where, spec, depth) {
    if (value === null || value === undefined || !schema || depth > 64) return value;
    if (schema["x-blazerpc-tensor"]) spec = schema["x-blazerpc-tensor"];
    if (isTensor(schema)) return fn(value, spec, where || "tensor");
    var s = resolve(schema);
    if (Array.isArray(value)) {
      return s.type === "array" && s.items ? value.map(function (v, i) { return mapTensors(v, s.items, fn, where + "[" + i + "]", spec, depth + 1); }) : value;
    }
    if (typeof value !== "object") return value;
    var out = {};
    Object.keys(value).forEach(function (k) {
      var own = s.properties && Object.prototype.hasOwnProperty.call(s.properties, k) ? s.properties[k] : undefined;
      var map = !own && s.additionalProperties && typeof s.additionalProperties === "object" ? s.additionalProperties : undefined;
      var at = where ? where + "." + k : k;
      put(out, k, own ? mapTensors(value[k], own, fn, at, undefined, depth + 1) : map ? mapTensors(value[k], map, fn, at, spec, depth + 1) : value[k]);
    });
    return out;
  }
  function tensorFields(schema) {
    var s = resolve(schema), out = [];
    Object.keys(s.properties || {}).forEach(function (k) {
      var p = s.properties[k];
      if (p["x-blazerpc-tensor"] && (isTensor(p) || isTensor(p.items) || isTensor(p.additionalProperties))) out.push(k + ": " + typeLabel(p));
    });
    return out;
  }

  // ---- tensors: nested arrays of numbers <-> {shape, dtype, data: base64 little-endian} ----
  var DTYPES = { float32: 4, float64: 8, float16: 2, int8: 1, int16: 2, int32: 4, int64: 8, uint8: 1, uint16: 2, uint32: 4, uint64: 8, bool: 1 };
  var ALIASES = { float: "float32", double: "float64", half: "float16" };
  var INT_RANGE = { int8: [-128, 127], int16: [-32768, 32767], int32: [-2147483648, 2147483647], uint8: [0, 255], uint16: [0, 65535], uint32: [0, 4294967295] };
  function b64(bytes) {
    var s = "";
    for (var i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    return btoa(s);
  }
  function unb64(text) {
    var t = String(text).replace(/-/g, "+").replace(/_/g, "/").replace(/=+$/, "");
    while (t.length % 4) t += "=";
    var s = atob(t), out = new Uint8Array(s.length);
    for (var i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out;
  }
  var f32 = new Float32Array(1), u32 = new Uint32Array(f32.buffer);
  function toHalf(v) {
    f32[0] = v;
    var x = u32[0], sign = (x >>> 16) & 0x8000, exp = (x >>> 23) & 0xff, mant = x & 0x7fffff;
    if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
    var e = exp - 112;
    if (e >= 31) return sign | 0x7c00;
    if (e <= 0) {
      if (e < -10) return sign;
      mant |= 0x800000;
      var shift = 14 - e, h = mant >>> shift, rest = mant & ((1 << shift) - 1), mid = 1 << (shift - 1);
      if (rest > mid || (rest === mid && (h & 1))) h++;
      return sign | h;
    }
    var r = sign | (e << 10) | (mant >>> 13), low = mant & 0x1fff;
    if (low > 0x1000 || (low === 0x1000 && (r & 1))) r++;
    return r;
  }
  function fromHalf(h) {
    var s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, m = h & 0x3ff;
    if (e === 0) return s * m * Math.pow(2, -24);
    if (e === 31) return m ? NaN : s * Infinity;
    return s * (1 + m / 1024) * Math.pow(2, e - 15);
  }
  // The shortest decimal that reads back as the same float32 (or half): 0.97, not 0.9700000286102295.
  function shortest(v, same) {
    if (!isFinite(v)) return String(v);
    for (var p = 1; p < 17; p++) { var d = Number(v.toPrecision(p)); if (same(d)) return d; }
    return v;
  }
  function number(x, where) {
    var v = typeof x === "number" ? x : typeof x === "string" && x.trim() !== "" ? Number(x) : NaN;
    if (isNaN(v) && x !== "NaN") throw new Error(where + ": " + JSON.stringify(x) + " is not a number");
    return v;
  }
  function write(dv, dtype, at, x, where) {
    if (dtype === "bool") {
      if (x !== true && x !== false && x !== 0 && x !== 1) throw new Error(where + ": " + JSON.stringify(x) + " is not a bool (true, false, 0 or 1)");
      dv.setUint8(at, x ? 1 : 0);
    } else if (dtype === "float32") dv.setFloat32(at, number(x, where), true);
    else if (dtype === "float64") dv.setFloat64(at, number(x, where), true);
    else if (dtype === "float16") dv.setUint16(at, toHalf(number(x, where)), true);
    else if (dtype === "int64" || dtype === "uint64") {
      var b;
      try { b = BigInt(typeof x === "string" ? x.trim() : x); } catch (e) { throw new Error(where + ": " + JSON.stringify(x) + " is not an integer (" + dtype + "; write big ones as strings)"); }
      var lo = dtype === "int64" ? -(BigInt(1) << BigInt(63)) : BigInt(0), hi = dtype === "int64" ? (BigInt(1) << BigInt(63)) - BigInt(1) : (BigInt(1) << BigInt(64)) - BigInt(1);
      if (b < lo || b > hi) throw new Error(where + ": " + String(x) + " is out of range for " + dtype);
      if (dtype === "int64") dv.setBigInt64(at, b, true); else dv.setBigUint64(at, b, true);
    } else {
      var v = number(x, where), range = INT_RANGE[dtype];
      if (!Number.isInteger(v) || v < range[0] || v > range[1]) throw new Error(where + ": " + JSON.stringify(x) + " is not an integer from " + range[0] + " to " + range[1] + " (" + dtype + ")");
      if (dtype === "int8") dv.setInt8(at, v);
      else if (dtype === "uint8") dv.setUint8(at, v);
      else if (dtype === "int16") dv.setInt16(at, v, true);
      else if (dtype === "uint16") dv.setUint16(at, v, true);
      else if (dtype === "int32") dv.setInt32(at, v, true);
      else dv.setUint32(at, v, true);
    }
  }
  function read(dv, dtype, at) {
    switch (dtype) {
      case "bool": return dv.getUint8(at) !== 0;
      case "float32": var v = dv.getFloat32(at, true); return shortest(v, function (d) { return Math.fround(d) === v; });
      case "float64": var w = dv.getFloat64(at, true); return isFinite(w) ? w : String(w);
      case "float16": var bits = dv.getUint16(at, true), h = fromHalf(bits); return shortest(h, function (d) { return toHalf(d) === bits; });
      case "int64": case "uint64":
        var b = dtype === "int64" ? dv.getBigInt64(at, true) : dv.getBigUint64(at, true);
        return b >= BigInt(-9007199254740991) && b <= BigInt(9007199254740991) ? Number(b) : b.toString();
      case "int8": return dv.getInt8(at);
      case "uint8": return dv.getUint8(at);
      case "int16": return dv.getInt16(at, true);
      case "uint16": return dv.getUint16(at, true);
      case "int32": return dv.getInt32(at, true);
      default: return dv.getUint32(at, true);
    }
  }
  // A form value (nested array, a number for shape [], or {dtype, values}) to the wire form.
  function encodeTensor(value, spec, where) {
    var dtype = spec && spec.dtype, values = value;
    if (value !== null && typeof value === "object" && !Array.isArray(value)) {
      if (typeof value.data === "string") return value; // already {shape, dtype, data}
      if (!("values" in value)) throw new Error(where + ": write a tensor as a nested array of numbers, e.g. [[1, 2], [3, 4]]");
      values = value.values;
      if (value.dtype) dtype = value.dtype;
    }
    if (!dtype) throw new Error(where + ": the schema declares no dtype; write {\"dtype\": \"float32\", \"values\": [...]}");
    dtype = ALIASES[dtype] || dtype;
    var size = DTYPES[dtype];
    if (!size) throw new Error(where + ": dtype " + JSON.stringify(dtype) + " is not one this page knows; send {shape, dtype, data} (base64)");
    var shape = [];
    for (var v = values; Array.isArray(v); v = v[0]) shape.push(v.length);
    var declared = (spec && spec.shape) || [];
    if (shape.length > 0 && shape[shape.length - 1] === 0) {
      for (var d = shape.length; d < declared.length; d++) shape.push(/^\d+$/.test(declared[d]) ? Number(declared[d]) : 0);
    }
    var flat = [];
    (function walk(x, depth, at) {
      if (depth === shape.length) {
        if (Array.isArray(x)) throw new Error(at + ": rows of different depths");
        flat.push([x, at]);
        return;
      }
      if (!Array.isArray(x)) throw new Error(at + ": expected an array of " + shape[depth] + " items, got " + JSON.stringify(x));
      if (x.length !== shape[depth]) throw new Error(at + ": " + x.length + " items where the first row has " + shape[depth] + " (a tensor is rectangular)");
      x.forEach(function (y, i) { walk(y, depth + 1, at + "[" + i + "]"); });
    })(values, 0, where);
    var bytes = new Uint8Array(flat.length * size), dv = new DataView(bytes.buffer);
    flat.forEach(function (p, i) { write(dv, dtype, i * size, p[0], p[1]); });
    return { shape: shape.map(String), dtype: dtype, data: b64(bytes) };
  }
  // The wire form to nested arrays of numbers ({dtype, values} where the dtype is not the declared one).
  function decodeTensor(value, spec) {
    if (!value || typeof value !== "object" || Array.isArray(value)) return value;
    var dtype = ALIASES[value.dtype] || value.dtype || "", size = DTYPES[dtype];
    var shape = (value.shape || []).map(Number);
    var count = shape.reduce(function (a, b) { return a * b; }, 1);
    var bytes;
    try { bytes = unb64(value.data || ""); } catch (e) { return value; }
    if (!size || bytes.length !== count * size) return value; // shown as it came
    var dv = new DataView(bytes.buffer), flat = [];
    for (var i = 0; i < count; i++) flat.push(read(dv, dtype, i * size));
    var nested = (function nest(depth, offset) {
      if (depth === shape.length) return flat[offset];
      var stride = 1, out = [];
      for (var d = depth + 1; d < shape.length; d++) stride *= shape[d];
      for (var j = 0; j < shape[depth]; j++) out.push(nest(depth + 1, offset + j * stride));
      return out;
    })(0, 0);
    return spec && (ALIASES[spec.dtype] || spec.dtype) === dtype ? nested : { dtype: dtype, values: nested };
  }

  // JSON with arrays of plain values on one line: a tensor reads as rows.
  function pretty(v, indent) {
    indent = indent || "";
    var inner = indent + "  ";
    if (Array.isArray(v)) {
      if (v.length === 0) return "[]";
      if (v.every(function (x) { return x === null || typeof x !== "object"; })) return "[" + v.map(function (x) { return pretty(x); }).join(", ") + "]";
      return "[\n" + v.map(function (x) { return inner + pretty(x, inner); }).join(",\n") + "\n" + indent + "]";
    }
    if (v && typeof v === "object") {
      var keys = Object.keys(v);
      if (keys.length === 0) return "{}";
      return "{\n" + keys.map(function (k) { return inner + JSON.stringify(k) + ": " + pretty(v[k], inner); }).join(",\n") + "\n" + indent + "}";
    }
    return JSON.stringify(v);
  }
  function parseJson(text) { try { return { ok: true, value: JSON.parse(text) }; } catch (e) { return { ok: false }; } }

  // ---- curl ----
  function sq(s) { return "'" + String(s).replace(/'/g, "'\\''") + "'"; }
  function authArg(isPublic) {
    if (!auth || isPublic) return "";
    return token() ? " -H " + sq("authorization: Bearer " + token()) : " -H \"authorization: Bearer $TOKEN\"";
  }
  function octal(n) { var s = n.toString(8); while (s.length < 3) s = "0" + s; return "\\" + s; }

  // ---- one card per method or route ----
  function card(path, kind, verbs, op, data) {
    var details = el("details", { class: "method", "data-path": path, "data-kind": kind, "data-method": data.method || "POST" });
    var head = el("summary", {}, verbs.map(function (v) { return el("span", { class: "verb " + v[1], text: v[0] }); }).concat([
      el("span", { class: "path", text: path }),
      el("span", { class: "summary", text: op.summary || "" }),
    ]));
    details.appendChild(head);
    details.addEventListener("toggle", function () { if (details.open && history.replaceState) history.replaceState(null, "", "#" + path); });
    var body = el("div", { class: "body" });
    details.appendChild(body);
    if (op.description) body.appendChild(el("p", { class: "desc", text: op.description }));
    return { details: details, body: body };
  }
  function section(title, description) {
    var s = el("section", {}, [el("h2", { text: title }), description ? el("p", { text: description }) : null]);
    document.getElementById("methods").appendChild(s);
    return s;
  }
  function curlBlock(body) {
    var pre = el("pre", { class: "curl" });
    var note = el("p", { class: "note" });
    var copy = el("button", { type: "button", class: "secondary copy", text: "Copy" });
    copy.addEventListener("click", function () {
      var done = function () { copy.textContent = "Copied"; setTimeout(function () { copy.textContent = "Copy"; }, 1500); };
      if (navigator.clipboard && navigator.clipboard.writeText) navigator.clipboard.writeText(pre.textContent).then(done, function () { select(pre); });
      else select(pre);
    });
    body.appendChild(el("h4", { text: "curl" }));
    body.appendChild(pre);
    body.appendChild(el("div", { class: "actions" }, [copy, note]));
    return { pre: pre, note: note };
  }
  function select(node) { var r = document.createRange(); r.selectNodeContents(node); var s = getSelection(); s.removeAllRanges(); s.addRange(r); }
  function status(node, r, t0) {
    node.textContent = r.status + " " + (r.statusText || "") + " \u00b7 " + Math.round(performance.now() - t0) + " ms";
    node.className = "status" + (r.ok ? "" : " bad");
    node.setAttribute("data-status", String(r.status));
  }
  // r: the response, or the Connect error of a stream's end (streams answer 200, the error after).
  function unauthorizedNote(r) {
    if (r.status !== 401 && r.code !== "unauthenticated") return "";
    return auth ? (token() ? "The token was refused: enter another in Authorize above." : "This server wants a token: enter it in Authorize above.") : "This server wants a bearer token.";
  }

  function rpcCard(path, op, getOp) {
    var rpc = op["x-blazerpc-rpc"];
    var stream = rpc.kind === "server_streaming";
    var requestSchema = { $ref: REF + rpc.requestType }, responseSchema = { $ref: REF + rpc.responseType };
    var verbs = [stream ? ["STREAM", "stream"] : ["POST", "post"]];
    if (getOp) verbs.push(["GET", "get"]);
    var c = card(path, stream ? "stream" : "unary", verbs, op, {});
    var body = c.body;
    body.appendChild(el("h4", { text: "Request: " + rpc.requestType }));
    body.appendChild(schemaView(requestSchema, [rpc.requestType]));
    body.appendChild(el("h4", { text: (stream ? "Each message of the response stream: " : "Response: ") + rpc.responseType }));
    body.appendChild(schemaView(responseSchema, [rpc.responseType]));

    var example = stream ? rpc.example : op.requestBody.content["application/json"].example;
    body.appendChild(el("h4", { text: "Try it" }));
    var tensors = tensorFields(requestSchema);
    if (tensors.length > 0) body.appendChild(el("p", { class: "note", text: "Tensors are written as nested arrays of numbers, one level per dimension (e.g. [[1, 2, 3]] for shape [1, 3]), and shown the same way; the page sends them as {shape, dtype, data: base64}. Here: " + tensors.join("; ") + "." }));
    var box = el("textarea", { class: "request", "aria-label": "request JSON", spellcheck: "false" });
    box.value = pretty(mapTensors(example || {}, requestSchema, decodeTensor, "", undefined, 0));
    body.appendChild(box);
    var send = el("button", { type: "button", class: "send", text: stream ? "Start stream" : "Send" });
    var stop = el("button", { type: "button", class: "secondary stop", text: "Stop", hidden: "" });
    var state = el("span", { class: "status" });
    body.appendChild(el("div", { class: "actions" }, [send, stop, state]));
    var note = el("p", { class: "note bad", hidden: "" });
    body.appendChild(note);
    var result = el("pre", { class: "result", hidden: "" });
    var messages = el("ol", { class: "messages" });
    var end = el("div", { class: "stream-end", hidden: "" });
    body.appendChild(stream ? messages : result);
    if (stream) body.appendChild(end);
    var wireReq = el("pre", { class: "wire wire-request" }), wireRes = el("pre", { class: "wire wire-response" });
    body.appendChild(el("details", { class: "wire" }, [el("summary", { class: "muted", text: "As sent and received (proto3 JSON)" }), wireReq, wireRes]));
    var curl = curlBlock(body);

    function requestJson() {
      var parsed = parseJson(box.value);
      if (!parsed.ok) throw new Error("The request is not valid JSON.");
      return JSON.stringify(mapTensors(parsed.value, requestSchema, encodeTensor, "", undefined, 0));
    }
    function updateCurl() {
      var json, why = "";
      try { json = requestJson(); } catch (e) { json = JSON.stringify(example || {}); why = "The request box does not convert (" + e.message + "): the line sends the example."; }
      var url = root + path.slice(1), lines;
      if (stream) {
        var n = new TextEncoder().encode(json).length;
        var prefix = [0, (n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].map(octal).join("");
        lines = "printf " + sq(prefix + "%s") + " " + sq(json) + " | curl -sS -N -X POST " + sq(url) + " -H 'content-type: application/connect+json' -H 'connect-protocol-version: 1'" + authArg() + " --data-binary @- --output -";
        why = (why ? why + " " : "") + "A stream: printf writes the request's envelope (flag byte, 4-byte length, JSON); curl prints each answer message in its envelope.";
      } else {
        lines = "curl -X POST " + sq(url) + " -H 'content-type: application/json'" + authArg() + " -d " + sq(json);
        if (getOp) lines += "\n\ncurl " + sq(url + "?connect=v1&encoding=json&message=" + encodeURIComponent(json)) + authArg();
      }
      curl.pre.textContent = lines;
      curl.note.textContent = why;
    }
    box.addEventListener("input", updateCurl);
    onTokenChange.push(updateCurl);
    updateCurl();

    function fail(message) { note.textContent = message; note.hidden = false; }
    send.addEventListener("click", function () {
      note.hidden = true;
      var json;
      try { json = requestJson(); } catch (e) { fail(e.message); return; }
      wireReq.textContent = json;
      wireRes.textContent = "";
      state.textContent = "\u2026";
      state.className = "status";
      state.removeAttribute("data-status");
      (stream ? callStream : callUnary)(json).catch(function (e) {
        if (e && e.name === "AbortError") return;
        fail(String(e && e.message || e));
      });
    });

    function callUnary(json) {
      result.hidden = true;
      var t0 = performance.now();
      return fetch(base + path.slice(1), { method: "POST", headers: headers({ "content-type": "application/json", "connect-protocol-version": "1" }), body: json })
        .then(function (r) {
          return r.text().then(function (text) {
            status(state, r, t0);
            wireRes.textContent = text;
            var parsed = parseJson(text);
            var shown = parsed.ok ? (r.ok ? mapTensors(parsed.value, responseSchema, decodeTensor, "", undefined, 0) : parsed.value) : undefined;
            result.textContent = shown !== undefined ? pretty(shown) : text;
            result.className = "result" + (r.ok ? "" : " bad");
            result.hidden = false;
            var why = unauthorizedNote(r);
            if (why) fail(why);
          });
        });
    }

    function callStream(json) {
      messages.textContent = "";
      end.hidden = true;
      end.className = "stream-end";
      var payload = new TextEncoder().encode(json);
      var frame = new Uint8Array(5 + payload.length);
      new DataView(frame.buffer).setUint32(1, payload.length); // big-endian
      frame.set(payload, 5);
      var ctrl = new AbortController();
      stop.hidden = false;
      send.disabled = true;
      stop.onclick = function () { ctrl.abort(); finish("Stopped after " + messages.children.length + " message(s).", false); };
      var t0 = performance.now();
      var finished = false;
      function finish(text, bad, detail) {
        if (finished) return;
        finished = true;
        stop.hidden = true;
        send.disabled = false;
        end.textContent = "";
        end.appendChild(el("div", { class: "end-text", text: text }));
        if (detail !== undefined) end.appendChild(el("pre", { class: "result" + (bad ? " bad" : ""), text: pretty(detail) }));
        end.className = "stream-end" + (bad ? " bad" : "");
        end.hidden = false;
      }
      var received = "";
      return fetch(base + path.slice(1), {
        method: "POST",
        headers: headers({ "content-type": "application/connect+json", "connect-protocol-version": "1", "connect-accept-encoding": "identity" }),
        body: frame,
        signal: ctrl.signal,
      }).then(function (r) {
        status(state, r, t0);
        var type = r.headers.get("content-type") || "";
        if (!/^application\/connect\+json/i.test(type)) {
          // Refused before the stream began (e.g. 401): a plain body.
          return r.text().then(function (text) {
            wireRes.textContent = text;
            var parsed = parseJson(text);
            finish("The call failed before the stream began.", true, parsed.ok ? parsed.value : text);
            var why = unauthorizedNote(r);
            if (why) fail(why);
          });
        }
        var reader = r.body.getReader();
        var buf = new Uint8Array(0);
        var decoder = new TextDecoder();
        function pump() {
          return reader.read().then(function (chunk) {
            if (chunk.value) {
              var next = new Uint8Array(buf.length + chunk.value.length);
              next.set(buf);
              next.set(chunk.value, buf.length);
              buf = next;
            }
            while (buf.length >= 5) {
              var flags = buf[0], len = new DataView(buf.buffer, buf.byteOffset, 5).getUint32(1);
              if (buf.length < 5 + len) break;
              var text = decoder.decode(buf.subarray(5, 5 + len));
              buf = buf.slice(5 + len);
              received += (received ? "\n" : "") + text;
              wireRes.textContent = received;
              if (flags & 2) endStream(text);
              else if (flags & 1) finish("A compressed message arrived; this page reads uncompressed ones only.", true);
              else message(text);
            }
            if (chunk.done) {
              if (buf.length > 0) finish("The stream was cut in the middle of a message.", true);
              else finish("The stream ended without its end-of-stream message.", true);
              return;
            }
            return pump();
          });
        }
        return pump();
      }).catch(function (e) {
        if (e && e.name === "AbortError") return;
        finish(String(e && e.message || e), true);
      });
      function message(text) {
        var parsed = parseJson(text);
        var shown = parsed.ok ? pretty(mapTensors(parsed.value, responseSchema, decodeTensor, "", undefined, 0)) : text;
        messages.appendChild(el("li", { class: "message" }, [el("pre", { text: shown })]));
      }
      function endStream(text) {
        var parsed = parseJson(text);
        var n = messages.children.length;
        if (!parsed.ok) return finish("The end-of-stream message is not JSON.", true, text);
        var e = parsed.value && parsed.value.error;
        if (e) {
          finish("Error after " + n + " message(s): " + (e.code || "unknown") + (e.message ? ": " + e.message : ""), true, parsed.value);
          var why = unauthorizedNote(e);
          if (why) fail(why);
        }
        else finish("End of stream: " + n + " message(s).", false, parsed.value.metadata ? parsed.value : undefined);
      }
    }
    return c.details;
  }

  function routeCard(path, method, op) {
    var verb = method.toUpperCase();
    var c = card(path, "route", [[verb, method]], op, { method: verb });
    var body = c.body;
    var isPublic = Array.isArray(op.security) && op.security.length === 0;
    var reqContent = op.requestBody && op.requestBody.content && op.requestBody.content["application/json"];
    var resContent = op.responses && op.responses["200"] && op.responses["200"].content && op.responses["200"].content["application/json"];
    if (reqContent) { body.appendChild(el("h4", { text: "Request body" })); body.appendChild(schemaView(reqContent.schema, [])); }
    if (resContent) { body.appendChild(el("h4", { text: "Response" })); body.appendChild(schemaView(resContent.schema, [])); }
    body.appendChild(el("h4", { text: "Try it" }));
    var url = el("input", { class: "url", "aria-label": "path", value: path, spellcheck: "false" });
    body.appendChild(url);
    var box;
    if (verb !== "GET") {
      box = el("textarea", { class: "request", "aria-label": "request JSON", spellcheck: "false" });
      box.value = reqContent ? pretty(reqContent.example !== undefined ? reqContent.example : {}) : "";
      body.appendChild(box);
    }
    var send = el("button", { type: "button", class: "send", text: "Send" });
    var state = el("span", { class: "status" });
    body.appendChild(el("div", { class: "actions" }, [send, state]));
    var note = el("p", { class: "note bad", hidden: "" });
    body.appendChild(note);
    var result = el("pre", { class: "result", hidden: "" });
    body.appendChild(result);
    var curl = curlBlock(body);
    function target() {
      // Only this server: a path from its root, never another origin.
      var p = url.value.trim();
      if (p.charAt(0) !== "/" || p.charAt(1) === "/" || p.indexOf("\\") >= 0) throw new Error("The path must start with a single /.");
      var u = new URL(base + p.slice(1), location.origin);
      if (u.origin !== location.origin) throw new Error("The path must stay on this server.");
      return u;
    }
    function updateCurl() {
      var u;
      try { u = target().href; } catch (e) { u = root + path.slice(1); }
      var line = "curl" + (verb !== "GET" ? " -X " + verb : "") + " " + sq(u) + authArg(isPublic);
      if (box) line += " -H 'content-type: application/json' -d " + sq(box.value.trim() === "" ? "{}" : (parseJson(box.value).ok ? JSON.stringify(JSON.parse(box.value)) : box.value));
      curl.pre.textContent = line;
    }
    url.addEventListener("input", updateCurl);
    if (box) box.addEventListener("input", updateCurl);
    onTokenChange.push(updateCurl);
    updateCurl();
    send.addEventListener("click", function () {
      note.hidden = true;
      var u;
      try { u = target(); } catch (e) { note.textContent = e.message; note.hidden = false; return; }
      var init = { method: verb, headers: headers(box ? { "content-type": "application/json" } : {}, isPublic) };
      if (box) init.body = box.value;
      state.textContent = "\u2026";
      state.className = "status";
      state.removeAttribute("data-status");
      var t0 = performance.now();
      fetch(u.href, init).then(function (r) {
        return r.text().then(function (text) {
          status(state, r, t0);
          var parsed = parseJson(text);
          result.textContent = parsed.ok ? pretty(parsed.value) : text;
          result.className = "result" + (r.ok ? "" : " bad");
          result.hidden = false;
          var why = unauthorizedNote(r);
          if (why) { note.textContent = why; note.hidden = false; }
        });
      }).catch(function (e) { note.textContent = String(e && e.message || e); note.hidden = false; });
    });
    return c.details;
  }

  document.getElementById("intro").textContent = (doc.info && doc.info.description) || "";
  var tagInfo = {};
  (doc.tags || []).forEach(function (t) { tagInfo[t.name] = t.description; });
  var sections = {};
  function sectionFor(op) {
    var tag = (op.tags && op.tags[0]) || "Other";
    if (!sections[tag]) sections[tag] = section(tag, tagInfo[tag]);
    return sections[tag];
  }
  var VERBS = ["get", "post", "put", "patch", "delete"];
  Object.keys(doc.paths || {}).forEach(function (path) {
    var ops = doc.paths[path];
    var rpc = ops.post && ops.post["x-blazerpc-rpc"];
    if (rpc) sectionFor(ops.post).appendChild(rpcCard(path, ops.post, ops.get));
    VERBS.forEach(function (verb) {
      var op = ops[verb];
      if (!op || op["x-blazerpc-rpc"] || (rpc && verb === "get")) return;
      sectionFor(op).appendChild(routeCard(path, verb, op));
    });
  });
  if (auth) tokenChanged();
  // The tensor conversions, for a console (and the page's own tests).
  window.blazerpcDocs = { encodeTensor: encodeTensor, decodeTensor: decodeTensor };
  // A link to one method (#/pkg.Service/Method) opens it.
  var wanted = decodeURIComponent(location.hash.slice(1));
  Array.prototype.forEach.call(document.querySelectorAll("details.method"), function (d) {
    if (wanted && d.getAttribute("data-path") === wanted) { d.open = true; d.scrollIntoView(); }
  });
})();
`;
