// /docs as a person uses it, in headless Chromium (playwright-core), against ONE real server
// (the iris example, bearer auth on): a call without a token answers 401; after Authorize,
// PredictIris takes numbers and shows probabilities as numbers; the `generate` stream shows
// each message as it arrives, and its end-of-stream error; the curl line the page shows,
// run with real curl, answers 200; an HTTP route is tried too. The page's tensor
// conversions are checked against @blazerpc/tensor for every dtype.
//
// Until server.ts passes `bearerAuth` and `routes` to createOpenApiDocument, the page is
// served by a small proxy in front of the server (everything else is forwarded): it renders
// /docs and /openapi.json with the options the server will pass. Once the server's own
// /openapi.json declares both, the test uses the server directly.
import { execFile } from "node:child_process";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import type { Interceptor } from "@connectrpc/connect";
import type { Browser, Page } from "playwright-core";
import { toTensorProto, type DType, type Tensor } from "@blazerpc/tensor";
import { createServer, type BlazeServer } from "@blazerpc/runtime";
import { docsPage } from "../../packages/runtime/src/openapi/docs-page.js";
import { createOpenApiDocument, HEALTH_ROUTE_DOCS } from "../../packages/runtime/src/openapi/openapi.js";
import { app } from "../../examples/iris/models.js";
import { InferenceServiceBinding } from "../../examples/iris/gen/iris/v1/iris_blaze.js";
import { tensorToJson } from "./support.js";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const TOKEN = "docs-page-token-0123";
const IRIS = "/iris.v1.InferenceService/PredictIris";
const GENERATE = "/iris.v1.InferenceService/PredictGenerate";

jest.setTimeout(60_000);

let server: BlazeServer;
let proxy: http.Server | undefined;
let agent: http.Agent | undefined;
let base: string; // where the page is opened: the server, or the proxy in front of it
let browser: Browser;
let page: Page;
const foreign: string[] = [];
const pageErrors: string[] = [];

// Holds the `generate` stream after its first message until the test lets it go, so the
// page is seen showing a message while the stream is still open.
let hold: Promise<void> | undefined;
let release = () => {};
const holdAfterFirst: Interceptor = (next) => async (req) => {
  const res = await next(req);
  if (!res.stream || req.method.name !== "PredictGenerate" || hold === undefined) return res;
  const gate = hold;
  const messages = res.message;
  return {
    ...res,
    message: (async function* () {
      let first = true;
      for await (const m of messages) {
        yield m;
        if (first) await gate;
        first = false;
      }
    })(),
  };
};

/** Serves /docs and /openapi.json as the server will once wired, and forwards the rest to it. */
async function startProxy(target: URL): Promise<string> {
  const doc = createOpenApiDocument({
    title: app.name,
    services: [InferenceServiceBinding.service],
    files: server.files,
    bearerAuth: true,
    routes: HEALTH_ROUTE_DOCS,
  });
  const html = docsPage(doc);
  const json = JSON.stringify(doc, null, 2) + "\n";
  agent = new http.Agent({ keepAlive: false });
  proxy = http.createServer((req, res) => {
    const p = (req.url ?? "/").split("?")[0];
    if (req.method === "GET" && (p === "/docs" || p === "/openapi.json")) {
      res.writeHead(200, { "content-type": p === "/docs" ? "text/html; charset=utf-8" : "application/json" });
      res.end(p === "/docs" ? html : json);
      return;
    }
    const up = http.request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers, agent },
      (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
      },
    );
    up.on("error", () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((resolve) => proxy!.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  server = createServer({
    app,
    services: [InferenceServiceBinding],
    port: 0,
    // A browser cannot send a header when it opens a page: the docs themselves are open,
    // the calls they make need the token.
    auth: { tokens: [TOKEN], exempt: ["health", "docs"] },
    interceptors: [holdAfterFirst],
  });
  await server.listen();
  const served = (await (await fetch(`${server.url()}/openapi.json`)).json()) as {
    components?: { securitySchemes?: unknown };
    paths: Record<string, unknown>;
  };
  const wired = served.components?.securitySchemes !== undefined && served.paths["/healthz"] !== undefined;
  base = wired ? server.url() : await startProxy(new URL(server.url()));

  const { chromium } = await import("playwright-core");
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless=new",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
  page = await browser.newPage();
  page.on("pageerror", (e) => pageErrors.push(e.message));
  page.on("request", (r) => {
    if (!r.url().startsWith(`${base}/`)) foreign.push(r.url());
  });
  await page.goto(`${base}/docs`);
});

afterAll(async () => {
  await browser?.close();
  release();
  if (proxy !== undefined) {
    proxy.closeAllConnections();
    await new Promise((resolve) => proxy!.close(resolve));
  }
  agent?.destroy();
  await server?.close();
});

/** The card of one method or route, opened. */
async function open(path: string, method?: string) {
  const card = page.locator(
    `details.method[data-path="${path}"]${method !== undefined ? `[data-method="${method}"]` : ""}`,
  );
  if ((await card.getAttribute("open")) === null) await card.locator(":scope > summary").click();
  return card;
}

/** Clicks the card's send button and resolves with the HTTP status it shows. */
async function send(card: ReturnType<Page["locator"]>): Promise<string> {
  const state = card.locator(".actions .status");
  await card.locator("button.send").click();
  await state.and(page.locator("[data-status]")).waitFor();
  return (await state.getAttribute("data-status"))!;
}

async function authorize() {
  await page.fill("#token", TOKEN);
  await page.click("#authorize");
  await page.locator("#auth-state", { hasText: "Authorized" }).waitFor();
}

function curlOutput(line: string): Promise<{ status: number; body: Buffer }> {
  // The line as the page shows it, plus what makes curl print the status after the body.
  return new Promise((resolve, reject) => {
    execFile(
      "bash",
      ["-c", `${line} -sS -w '\\n%{http_code}'`],
      { encoding: "buffer", timeout: 20_000 },
      (err, stdout, stderr) => {
        if (err !== null) return reject(new Error(`${err.message}\n${stderr.toString()}`));
        const cut = stdout.lastIndexOf(0x0a);
        resolve({ status: Number(stdout.subarray(cut + 1).toString()), body: stdout.subarray(0, cut) });
      },
    );
  });
}

/** The enveloped messages of a Connect stream body: [flags, JSON]. */
function frames(body: Buffer): [number, unknown][] {
  const out: [number, unknown][] = [];
  for (let at = 0; at < body.length;) {
    const len = body.readUInt32BE(at + 1);
    out.push([body[at]!, JSON.parse(body.subarray(at + 5, at + 5 + len).toString())]);
    at += 5 + len;
  }
  return out;
}

async function words(prompt: string, maxTokens: number): Promise<string[]> {
  const out: string[] = [];
  for await (const w of app.getModelOrThrow("generate").fn(prompt, maxTokens) as AsyncIterable<string>) out.push(w);
  return out;
}

it("lists every method, the stream included, and the health routes, with an Authorize field", async () => {
  await expect(page.locator("#auth").isVisible()).resolves.toBe(true);
  const cards = await page
    .locator("details.method")
    .evaluateAll((ds) =>
      ds.map((d) => `${d.getAttribute("data-kind")} ${d.getAttribute("data-method")} ${d.getAttribute("data-path")}`),
    );
  expect(cards).toEqual([
    "unary POST " + IRIS,
    "stream POST " + GENERATE,
    "route GET /healthz",
    "route GET /readyz",
    // The Open Inference Protocol's REST routes (docs/oip.md), served by default.
    "route GET /v2",
    "route GET /v2/health/live",
    "route GET /v2/health/ready",
    "route GET /v2/models/{model}",
    "route GET /v2/models/{model}/ready",
    "route POST /v2/models/{model}/infer",
    "route GET /v2/models/{model}/versions/{version}",
    "route GET /v2/models/{model}/versions/{version}/ready",
    "route POST /v2/models/{model}/versions/{version}/infer",
  ]);
  const gen = await open(GENERATE);
  await expect(gen.locator("h4").allTextContents()).resolves.toEqual([
    "Request: iris.v1.PredictGenerateRequest",
    "Each message of the response stream: iris.v1.PredictGenerateResponse",
    "Try it",
    "curl",
  ]);
  await expect(gen.locator("table").first().locator("code").allTextContents()).resolves.toEqual([
    "prompt",
    "maxTokens",
  ]);
  // The tensor field reads as a tensor, its example as numbers.
  const iris = await open(IRIS);
  await expect(iris.locator("td.type").first().textContent()).resolves.toBe("tensor float32 [batch, 4]");
  expect(JSON.parse(await iris.locator("textarea.request").inputValue())).toEqual({ features: [[0.5, 1, 1.5, 2]] });
});

it("(a) without a token, a call shows the 401 and says where the token goes", async () => {
  const iris = await open(IRIS);
  expect(await send(iris)).toBe("401");
  expect(JSON.parse((await iris.locator("pre.result").textContent())!)).toMatchObject({ code: "unauthenticated" });
  await expect(iris.locator("p.note.bad").textContent()).resolves.toMatch(/enter it in Authorize/);
  // A stream is refused in its end-of-stream message (the Connect streaming protocol answers 200).
  const gen = await open(GENERATE);
  expect(await send(gen)).toBe("200");
  await expect(gen.locator(".stream-end.bad .end-text").textContent()).resolves.toBe(
    "Error after 0 message(s): unauthenticated: missing bearer token: send the header `authorization: Bearer <token>`",
  );
  await expect(gen.locator("p.note.bad").textContent()).resolves.toMatch(/enter it in Authorize/);
});

it("(b) after Authorize, PredictIris takes numbers and answers probabilities as numbers", async () => {
  await authorize();
  const iris = await open(IRIS);
  const rows = [
    [5.1, 3.5, 1.4, 0.2],
    [6.7, 3.0, 5.2, 2.3],
  ];
  await iris.locator("textarea.request").fill(JSON.stringify({ features: rows }));
  expect(await send(iris)).toBe("200");
  const shown = JSON.parse((await iris.locator("pre.result").textContent())!) as { result: number[][] };
  expect(shown.result).toHaveLength(2);
  const direct = (await app
    .getModelOrThrow("iris")
    .fn({ dtype: "float32", shape: [2, 4], data: new Float32Array(rows.flat()) })) as Tensor<"float32">;
  shown.result.forEach((row, r) => {
    expect(row).toHaveLength(3);
    expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    // Shown as the shortest decimal of each float32: the very value the model computed.
    row.forEach((p, c) => expect(Math.fround(p)).toBe(direct.data[r * 3 + c]));
  });
  // What went over the wire was the tensor form.
  const sent = JSON.parse((await iris.locator("pre.wire-request").textContent())!);
  expect(sent).toEqual({
    features: tensorToJson(toTensorProto({ dtype: "float32", shape: [2, 4], data: new Float32Array(rows.flat()) })),
  });
  // The token stays for the tab: after a reload the field still holds it.
  await page.reload();
  await expect(page.inputValue("#token")).resolves.toBe(TOKEN);
});

it("(c) the generate stream shows its messages as they arrive, in order, then its end", async () => {
  const gen = await open(GENERATE);
  await gen.locator("textarea.request").fill(JSON.stringify({ prompt: "hello", maxTokens: 5 }));
  hold = new Promise((resolve) => (release = resolve));
  expect(await send(gen)).toBe("200");
  const messages = gen.locator("ol.messages li.message pre");
  await messages.first().waitFor();
  // The model is held after its first message: the page shows it, the stream still open.
  expect(await messages.count()).toBe(1);
  await expect(gen.locator(".stream-end").isVisible()).resolves.toBe(false);
  await expect(gen.locator("button.stop").isVisible()).resolves.toBe(true);
  release();
  hold = undefined;
  await gen.locator(".stream-end", { hasText: "End of stream" }).waitFor();
  const shown = (await messages.allTextContents()).map((t) => (JSON.parse(t) as { result: string }).result);
  expect(shown).toEqual(await words("hello", 5));
  await expect(gen.locator(".stream-end").textContent()).resolves.toMatch(/^End of stream: 5 message\(s\)\./);

  // An error in the end-of-stream message is shown after the messages.
  await gen.locator("textarea.request").fill(JSON.stringify({ prompt: "hello", maxTokens: 5000 }));
  expect(await send(gen)).toBe("200");
  const end = gen.locator(".stream-end.bad");
  await end.waitFor();
  await expect(end.textContent()).resolves.toMatch(
    /Error after 0 message\(s\): invalid_argument: model "generate": maxTokens must be an integer from 0 to 1000, got 5000/,
  );
});

it("(d) the curl lines the page shows answer 200 when run with real curl", async () => {
  const iris = await open(IRIS);
  await iris.locator("textarea.request").fill(JSON.stringify({ features: [[5.1, 3.5, 1.4, 0.2]] }));
  const line = (await iris.locator("pre.curl").textContent())!;
  expect(line).toContain(`-H 'authorization: Bearer ${TOKEN}'`);
  const unary = await curlOutput(line);
  expect(unary.status).toBe(200);
  const answer = JSON.parse(unary.body.toString()) as { result: { shape: string[] } };
  expect(answer.result.shape).toEqual(["1", "3"]);

  const gen = await open(GENERATE);
  await gen.locator("textarea.request").fill(JSON.stringify({ prompt: "curl", maxTokens: 3 }));
  const stream = await curlOutput((await gen.locator("pre.curl").textContent())!);
  expect(stream.status).toBe(200);
  expect(frames(stream.body)).toEqual([...(await words("curl", 3)).map((w) => [0, { result: w }]), [2, {}]]);

  // Logged out, the line asks the shell for $TOKEN.
  await page.click("#logout");
  await expect(iris.locator("pre.curl").textContent()).resolves.toContain(`-H "authorization: Bearer $TOKEN"`);
  await authorize();
});

it("tries an HTTP route", async () => {
  const health = await open("/healthz", "GET");
  expect(await send(health)).toBe("200");
  expect(JSON.parse((await health.locator("pre.result").textContent())!)).toEqual({
    status: "SERVING",
    models: { iris: "SERVING", generate: "SERVING" },
  });
  // A public route: no token in its curl line.
  await expect(health.locator("pre.curl").textContent()).resolves.toMatch(
    /^curl 'http:\/\/127\.0\.0\.1:\d+\/healthz'$/,
  );
});

it("converts tensors of every dtype as @blazerpc/tensor does, both ways", async () => {
  const cases: [DType, number[][], Tensor["data"]][] = [
    [
      "float32",
      [
        [1.5, -2.25],
        [3, 1e-3],
      ],
      new Float32Array([1.5, -2.25, 3, 1e-3]),
    ],
    ["float64", [[0.1, -1e300]], new Float64Array([0.1, -1e300])],
    ["int8", [[-128, 127]], new Int8Array([-128, 127])],
    ["int16", [[-32768, 32767]], new Int16Array([-32768, 32767])],
    ["int32", [[-2147483648, 7]], new Int32Array([-2147483648, 7])],
    ["int64", [[-5, 9007199254740991]], new BigInt64Array([-5n, 9007199254740991n])],
    ["uint8", [[0, 255]], new Uint8Array([0, 255])],
    ["uint16", [[65535, 1]], new Uint16Array([65535, 1])],
    ["uint32", [[4294967295, 1]], new Uint32Array([4294967295, 1])],
    ["uint64", [[18446744073709551615n as unknown as number, 1]], new BigUint64Array([18446744073709551615n, 1n])],
    ["float16", [[0.5, -2, 0.1]], new Uint16Array([0x3800, 0xc000, 0x2e66])],
    ["bool", [[1, 0, 1]], new Uint8Array([1, 0, 1])],
  ];
  for (const [dtype, rows, data] of cases) {
    // Numbers beyond 2^53 are written as decimal strings.
    const input = rows.map((r) => r.map((v) => (typeof v === "bigint" ? String(v) : v)));
    const want = tensorToJson(toTensorProto({ dtype, shape: [rows.length, rows[0]!.length], data } as Tensor));
    const got = await page.evaluate(
      ([v, d]) => {
        const docs = (
          globalThis as unknown as {
            blazerpcDocs: {
              encodeTensor(v: unknown, spec: unknown, where: string): unknown;
              decodeTensor(v: unknown, spec: unknown): unknown;
            };
          }
        ).blazerpcDocs;
        const wire = docs.encodeTensor(v, { dtype: d }, "t");
        return { wire, back: docs.decodeTensor(wire, { dtype: d }) };
      },
      [input, dtype] as const,
    );
    expect([dtype, got.wire]).toEqual([dtype, want]);
    expect([dtype, got.back]).toEqual([dtype, dtype === "bool" ? input.map((r) => r.map(Boolean)) : input]);
  }
  // A ragged array is refused with where it went wrong; so is a value out of range.
  const errors = await page.evaluate(() => {
    const docs = (
      globalThis as unknown as { blazerpcDocs: { encodeTensor(v: unknown, spec: unknown, where: string): unknown } }
    ).blazerpcDocs;
    const msg = (f: () => unknown) => {
      try {
        f();
        return "no error";
      } catch (e) {
        return (e as Error).message;
      }
    };
    return [
      msg(() => docs.encodeTensor([[1, 2], [3]], { dtype: "float32" }, "features")),
      msg(() => docs.encodeTensor([300], { dtype: "uint8" }, "image")),
    ];
  });
  expect(errors).toEqual([
    "features[1]: 1 items where the first row has 2 (a tensor is rectangular)",
    "image[0]: 300 is not an integer from 0 to 255 (uint8)",
  ]);
});

it("loaded nothing from elsewhere and threw nothing", () => {
  expect(foreign).toEqual([]);
  expect(pageErrors).toEqual([]);
});
