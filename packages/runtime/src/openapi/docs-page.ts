/**
 * `GET /docs`: one self-contained HTML page (no CDN, no external file: these servers often
 * have no internet) that renders the OpenAPI document — every method with its model,
 * description, request and response fields — and lets a person try a unary method: it
 * POSTs the JSON in the box to the same server and shows the answer.
 *
 * @example
 * const html = docsPage(createOpenApiDocument({ title: "iris", services }));
 */
export function docsPage(doc: Record<string, unknown>): string {
  // "<" escaped, so that no string in the document can end the script element.
  const json = JSON.stringify(doc).replace(/</g, "\\u003c");
  const title = escapeHtml(String((doc.info as { title?: unknown } | undefined)?.title ?? "API"));
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} — BlazeRPC API</title>
<style>
  :root { --fg: #1d2330; --muted: #5b6475; --line: #dde1e8; --accent: #2f5fd0; --bg: #f7f8fa; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
  header { padding: 24px 32px; background: #fff; border-bottom: 1px solid var(--line); }
  header h1 { margin: 0 0 4px; font-size: 24px; }
  header p { margin: 4px 0; color: var(--muted); max-width: 60em; }
  main { padding: 24px 32px; max-width: 1100px; }
  details.method { background: #fff; border: 1px solid var(--line); border-radius: 8px; margin: 0 0 16px; }
  details.method > summary { padding: 12px 16px; cursor: pointer; list-style: none; display: flex; gap: 10px; align-items: baseline; flex-wrap: wrap; }
  .verb { font: 600 12px ui-monospace, monospace; padding: 2px 6px; border-radius: 4px; color: #fff; background: var(--accent); }
  .verb.get { background: #2a8a4a; }
  .verb.stream { background: #8a5a2a; }
  code, pre, textarea { font: 13px/1.4 ui-monospace, SFMono-Regular, Menlo, monospace; }
  .path { font-weight: 600; }
  .summary { color: var(--muted); }
  .body { padding: 0 16px 16px; }
  table { border-collapse: collapse; width: 100%; margin: 8px 0 16px; }
  th, td { text-align: left; vertical-align: top; padding: 6px 8px; border-bottom: 1px solid var(--line); }
  th { font-size: 12px; text-transform: uppercase; color: var(--muted); }
  td.type { font-family: ui-monospace, monospace; white-space: nowrap; }
  textarea { width: 100%; min-height: 120px; padding: 8px; border: 1px solid var(--line); border-radius: 6px; }
  button { font: inherit; padding: 6px 14px; border: 0; border-radius: 6px; background: var(--accent); color: #fff; cursor: pointer; }
  pre.result { background: #0f1420; color: #e7ecf5; padding: 12px; border-radius: 6px; overflow: auto; max-height: 360px; }
  .desc { white-space: pre-wrap; }
</style>
</head>
<body>
<header>
  <h1>${title}</h1>
  <p id="intro"></p>
  <p>OpenAPI document: <a href="openapi.json">openapi.json</a> · health: <a href="healthz">/healthz</a>, <a href="readyz">/readyz</a> · metrics: <a href="metrics">/metrics</a></p>
</header>
<main id="methods"></main>
<script type="application/json" id="openapi">${json}</script>
<script>
"use strict";
(function () {
  var doc = JSON.parse(document.getElementById("openapi").textContent);
  var schemas = (doc.components && doc.components.schemas) || {};
  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { if (k === "text") e.textContent = attrs[k]; else e.setAttribute(k, attrs[k]); });
    (children || []).forEach(function (c) { if (c) e.appendChild(c); });
    return e;
  }
  function refName(s) { return s && s.$ref ? s.$ref.split("/").pop() : undefined; }
  function typeOf(s) {
    if (!s) return "any";
    if (s.$ref) return refName(s.$ref ? s : s);
    if (s.type === "array") return typeOf(s.items) + "[]";
    if (s.type === "object" && s.additionalProperties) return "map<string, " + typeOf(s.additionalProperties) + ">";
    if (s.enum) return s.enum.join(" | ");
    var t = Array.isArray(s.type) ? s.type.join(" | ") : (s.type || "any");
    return s.format ? t + " (" + s.format + ")" : t;
  }
  function fieldsTable(name, seen) {
    var s = schemas[name];
    if (!s || !s.properties) return el("p", { text: name + ": " + typeOf(s) + (s && s.description ? " — " + s.description : "") });
    var rows = Object.keys(s.properties).map(function (k) {
      var p = s.properties[k];
      var nested = refName(p) || (p.items && refName(p.items));
      var cell = el("td", { class: "desc", text: p.description || (nested && schemas[nested] && schemas[nested].description) || "" });
      if (nested && schemas[nested] && schemas[nested].properties && seen.indexOf(nested) < 0) {
        var d = el("details", {}, [el("summary", { text: nested }), fieldsTable(nested, seen.concat([nested]))]);
        cell.appendChild(d);
      }
      return el("tr", {}, [el("td", {}, [el("code", { text: k })]), el("td", { class: "type", text: typeOf(p) }), cell]);
    });
    return el("table", {}, [el("tr", {}, [el("th", { text: "field" }), el("th", { text: "type" }), el("th", { text: "description" })])].concat(rows));
  }
  document.getElementById("intro").textContent = (doc.info && doc.info.description) || "";
  var main = document.getElementById("methods");
  Object.keys(doc.paths).forEach(function (path) {
    var ops = doc.paths[path];
    var op = ops.post || ops.get;
    var stream = op.requestBody && op.requestBody.content["application/connect+json"];
    var json = op.requestBody && op.requestBody.content["application/json"];
    var reqName = json ? refName(json.schema) : undefined;
    var res = op.responses["200"].content["application/json"];
    var resName = res ? refName(res.schema) : undefined;
    var head = el("summary", {}, [
      el("span", { class: "verb" + (stream ? " stream" : ""), text: stream ? "STREAM" : "POST" }),
      ops.get ? el("span", { class: "verb get", text: "GET" }) : null,
      el("span", { class: "path", text: path }),
      el("span", { class: "summary", text: op.summary || "" }),
    ]);
    var body = el("div", { class: "body" }, [el("p", { class: "desc", text: op.description || "" })]);
    if (reqName) { body.appendChild(el("h4", { text: "Request: " + reqName })); body.appendChild(fieldsTable(reqName, [reqName])); }
    if (resName) { body.appendChild(el("h4", { text: "Response: " + resName })); body.appendChild(fieldsTable(resName, [resName])); }
    if (json) {
      var box = el("textarea", { "aria-label": "request JSON" });
      box.value = JSON.stringify(json.example || {}, null, 2);
      var out = el("pre", { class: "result", text: "" });
      var send = el("button", { text: "Send" });
      send.addEventListener("click", function () {
        out.textContent = "…";
        fetch(path, { method: "POST", headers: { "content-type": "application/json", "connect-protocol-version": "1" }, body: box.value })
          .then(function (r) { return r.text().then(function (t) { out.textContent = r.status + " " + r.statusText + "\\n\\n" + t; }); })
          .catch(function (e) { out.textContent = String(e); });
      });
      body.appendChild(el("h4", { text: "Try it" }));
      body.appendChild(box);
      body.appendChild(el("p", {}, [send]));
      body.appendChild(out);
    }
    main.appendChild(el("details", { class: "method" }, [head, body]));
  });
})();
</script>
</body>
</html>
`;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}
