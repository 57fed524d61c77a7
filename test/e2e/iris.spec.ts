// The iris example, served on ONE port, reached by every client the design names: a
// @grpc/grpc-js client over h2c, buf curl (gRPC-Web and Connect over HTTP/1.1), curl with
// Connect JSON over HTTP/1.1, and connect-node clients over HTTP/2; then the same over TLS.
// Every result must equal a direct call of the model function.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { fromTensorProto, toTensorProto, type Tensor } from "@blazerpc/tensor";
import { createServer, type BlazeServer } from "@blazerpc/runtime";
import { generate } from "selfsigned";
import { app } from "../../examples/iris/models.js";
import { InferenceServiceBinding } from "../../examples/iris/gen/iris/v1/iris_blaze.js";
import {
  InferenceService,
  PredictGenerateRequestSchema,
  PredictGenerateResponseSchema,
  PredictIrisRequestSchema,
  PredictIrisResponseSchema,
} from "../../examples/iris/gen/iris/v1/iris_pb.js";
import {
  bufBin,
  grpcMessage,
  grpcServerStream,
  grpcUnary,
  irisProtoDir,
  parseJsonStream,
  run,
  tensorFromJson,
  tensorToJson,
} from "./support.js";

const IRIS = "/iris.v1.InferenceService/PredictIris";
const GENERATE = "/iris.v1.InferenceService/PredictGenerate";

const features: Tensor<"float32", ["batch", 4]> = {
  dtype: "float32",
  shape: [2, 4],
  data: new Float32Array([5.1, 3.5, 1.4, 0.2, 6.7, 3.0, 5.2, 2.3]),
};

let expectedIris: number[];
let expectedWords: string[];

beforeAll(async () => {
  const direct = (await app.getModelOrThrow("iris").fn(features)) as Tensor<"float32">;
  expectedIris = Array.from(direct.data);
  expectedWords = [];
  for await (const w of app.getModelOrThrow("generate").fn("hello", 5) as AsyncIterable<string>) expectedWords.push(w);
  expect(expectedIris).toHaveLength(6);
  expect(expectedWords).toHaveLength(5);
});

const irisJson = () => JSON.stringify({ features: tensorToJson(toTensorProto(features)) });

describe("plaintext: one port, every protocol", () => {
  let server: BlazeServer;
  let base: string;
  let grpcClient: grpc.Client;

  beforeAll(async () => {
    server = createServer({ app, services: [InferenceServiceBinding], host: "127.0.0.1", port: 0 });
    await server.listen();
    base = server.url();
    grpcClient = new grpc.Client(`127.0.0.1:${server.address().port}`, grpc.credentials.createInsecure());
  });
  afterAll(async () => {
    grpcClient.close();
    await server.close();
  });

  it("answers a @grpc/grpc-js unary call over h2c", async () => {
    const res = await grpcUnary(grpcClient, IRIS, PredictIrisRequestSchema, PredictIrisResponseSchema, {
      features: toTensorProto(features),
    });
    const result = fromTensorProto(res.result, { dtype: "float32", shape: ["batch", 3] }, "result");
    expect(result.shape).toEqual([2, 3]);
    expect(Array.from(result.data as Float32Array)).toEqual(expectedIris);
  });

  it("streams to a @grpc/grpc-js client over h2c", async () => {
    const msgs = await grpcServerStream(
      grpcClient,
      GENERATE,
      PredictGenerateRequestSchema,
      PredictGenerateResponseSchema,
      { prompt: "hello", maxTokens: 5 },
    );
    expect(msgs.map((m) => m.result)).toEqual(expectedWords);
  });

  it.each(["grpcweb", "connect"])("answers buf curl --protocol %s over HTTP/1.1 with --schema", async (protocol) => {
    const r = await run(bufBin, [
      "curl",
      "--schema",
      irisProtoDir,
      "--protocol",
      protocol,
      "-d",
      irisJson(),
      `${base}${IRIS}`,
    ]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const [res] = parseJsonStream(r.stdout) as { result: { shape: string[]; dtype: string; data: string } }[];
    expect(Array.from(tensorFromJson(res!.result).data as Float32Array)).toEqual(expectedIris);
  });

  it("streams to buf curl --protocol grpcweb over HTTP/1.1", async () => {
    const r = await run(bufBin, [
      "curl",
      "--schema",
      irisProtoDir,
      "--protocol",
      "grpcweb",
      "-d",
      '{"prompt":"hello","maxTokens":5}',
      `${base}${GENERATE}`,
    ]);
    expect(r.code).toBe(0);
    expect(parseJsonStream(r.stdout).map((m) => (m as { result: string }).result)).toEqual(expectedWords);
  });

  it("answers curl with a Connect JSON POST over HTTP/1.1", async () => {
    const r = await run("curl", [
      "-sS",
      "--http1.1",
      "-X",
      "POST",
      "-H",
      "content-type: application/json",
      "-d",
      irisJson(),
      "-w",
      "\n%{http_version} %{http_code}",
      `${base}${IRIS}`,
    ]);
    expect(r.code).toBe(0);
    const [body, status] = r.stdout.split("\n");
    expect(status).toBe("1.1 200");
    const res = JSON.parse(body!) as { result: { shape: string[]; dtype: string; data: string } };
    expect(Array.from(tensorFromJson(res.result).data as Float32Array)).toEqual(expectedIris);
  });

  it("answers connect-node clients over HTTP/2 (Connect and gRPC) and HTTP/1.1 (gRPC-Web)", async () => {
    const transports = [
      createConnectTransport({ baseUrl: base, httpVersion: "2" }),
      createGrpcTransport({ baseUrl: base }),
      createGrpcWebTransport({ baseUrl: base, httpVersion: "1.1" }),
    ];
    for (const transport of transports) {
      const client = createClient(InferenceService, transport);
      const res = await client.predictIris({ features: toTensorProto(features) });
      expect(Array.from(fromTensorProto(res.result).data as Float32Array)).toEqual(expectedIris);
      const words: string[] = [];
      for await (const m of client.predictGenerate({ prompt: "hello", maxTokens: 5 })) words.push(m.result);
      expect(words).toEqual(expectedWords);
    }
  });

  it("serves GET /healthz and /readyz on the same port, over HTTP/1.1 and h2c", async () => {
    for (const flag of ["--http1.1", "--http2-prior-knowledge"]) {
      const r = await run("curl", ["-sS", flag, "-w", "%{http_version} %{http_code}", `${base}/healthz`]);
      const cut = r.stdout.lastIndexOf("\n");
      const [body, status] = [r.stdout.slice(0, cut), r.stdout.slice(cut + 1)];
      expect(status).toBe(flag === "--http1.1" ? "1.1 200" : "2 200");
      expect(JSON.parse(body)).toEqual({ status: "SERVING", models: { iris: "SERVING", generate: "SERVING" } });
    }
    const ready = await run("curl", ["-sS", "-o", "/dev/null", "-w", "%{http_code}", `${base}/readyz`]);
    expect(ready.stdout).toBe("200");
  });

  describe("bad input gets the right status, and the server keeps serving", () => {
    const client = () => createClient(InferenceService, createConnectTransport({ baseUrl: base, httpVersion: "2" }));
    const expectCode = async (p: Promise<unknown>, code: Code, message: string) => {
      const err = await p.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ConnectError);
      expect((err as ConnectError).code).toBe(code);
      expect((err as ConnectError).rawMessage).toBe(message);
    };
    afterEach(async () => {
      // Whatever came before, the next good request is answered.
      const res = await client().predictIris({ features: toTensorProto(features) });
      expect(Array.from(fromTensorProto(res.result).data as Float32Array)).toEqual(expectedIris);
    });

    it("wrong dtype → INVALID_ARGUMENT naming the field and both dtypes", async () => {
      const f64 = toTensorProto({ dtype: "float64", shape: [1, 4], data: new Float64Array(4) });
      await expectCode(
        client().predictIris({ features: f64 }),
        Code.InvalidArgument,
        "features: dtype is float64, expected float32",
      );
    });

    it("wrong shape → INVALID_ARGUMENT (over gRPC too)", async () => {
      const bad = toTensorProto({ dtype: "float32", shape: [1, 5], data: new Float32Array(5) });
      const err = await grpcUnary(grpcClient, IRIS, PredictIrisRequestSchema, PredictIrisResponseSchema, {
        features: bad,
      }).then(
        () => undefined,
        (e: grpc.ServiceError) => e,
      );
      expect(err?.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(grpcMessage(err)).toBe("features: dim 1 is 5, expected 4 (shape [1, 5], expected [batch, 4])");
    });

    it("wrong data length → INVALID_ARGUMENT", async () => {
      const bad = create(PredictIrisRequestSchema, {
        features: { dtype: "float32", shape: [1n, 4n], data: new Uint8Array(12) },
      });
      await expectCode(
        client().predictIris(bad),
        Code.InvalidArgument,
        "features: data is 12 bytes, expected 16 (shape [1, 4] × 4 bytes of float32)",
      );
    });

    it("missing tensor → INVALID_ARGUMENT", async () => {
      await expectCode(client().predictIris({}), Code.InvalidArgument, "features: missing: no tensor was sent");
    });

    it("a malformed protobuf body → INTERNAL, the protocol layer's own error", async () => {
      const garbage = () => Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]);
      const err = await grpcUnary(
        grpcClient,
        IRIS,
        PredictIrisRequestSchema,
        PredictIrisResponseSchema,
        {},
        garbage,
      ).then(
        () => undefined,
        (e: grpc.ServiceError) => e,
      );
      // connect-node answers as grpc-go does for a request it cannot unmarshal.
      expect(err?.code).toBe(grpc.status.INTERNAL);
      expect(grpcMessage(err)).toBe("parse binary: premature EOF");
    });

    it("invalid JSON over Connect → HTTP 400 with a Connect error body", async () => {
      const r = await run("curl", [
        "-sS",
        "--http1.1",
        "-X",
        "POST",
        "-H",
        "content-type: application/json",
        "-d",
        "{not json",
        "-w",
        "\n%{http_code}",
        `${base}${IRIS}`,
      ]);
      const [body, status] = r.stdout.split("\n");
      expect(status).toBe("400");
      const err = JSON.parse(body!) as { code: string; message: string };
      expect(err.code).toBe("invalid_argument");
      expect(err.message).toMatch(/json/i);
    });

    it("an unknown method → UNIMPLEMENTED over gRPC, 404 over HTTP", async () => {
      const err = await grpcUnary(
        grpcClient,
        "/iris.v1.InferenceService/PredictNope",
        PredictIrisRequestSchema,
        PredictIrisResponseSchema,
        {},
      ).then(
        () => undefined,
        (e: grpc.ServiceError) => e,
      );
      expect(err?.code).toBe(grpc.status.UNIMPLEMENTED);
      const r = await run("curl", [
        "-sS",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "-X",
        "POST",
        "-H",
        "content-type: application/json",
        "-d",
        "{}",
        `${base}/iris.v1.InferenceService/PredictNope`,
      ]);
      expect(r.stdout).toBe("404");
    });
  });
});

describe("TLS: HTTP/2 and HTTP/1.1 by ALPN on one port", () => {
  let server: BlazeServer;
  let base: string;
  let cert: string;
  let caFile: string;

  beforeAll(async () => {
    const pems = await generate([{ name: "commonName", value: "localhost" }], {
      keySize: 2048,
      algorithm: "sha256",
      extensions: [
        {
          name: "subjectAltName",
          altNames: [
            { type: 2, value: "localhost" },
            { type: 7, ip: "127.0.0.1" },
          ],
        },
      ],
    });
    cert = pems.cert;
    caFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "blaze-tls-")), "cert.pem");
    fs.writeFileSync(caFile, cert);
    server = createServer({
      app,
      services: [InferenceServiceBinding],
      host: "127.0.0.1",
      port: 0,
      tls: { cert: pems.cert, key: pems.private },
    });
    await server.listen();
    base = server.url();
    expect(base).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
  });
  afterAll(async () => {
    await server.close();
    fs.rmSync(path.dirname(caFile), { recursive: true, force: true });
  });

  it("answers @grpc/grpc-js over TLS (unary and stream)", async () => {
    const client = new grpc.Client(`127.0.0.1:${server.address().port}`, grpc.credentials.createSsl(Buffer.from(cert)));
    try {
      const res = await grpcUnary(client, IRIS, PredictIrisRequestSchema, PredictIrisResponseSchema, {
        features: toTensorProto(features),
      });
      expect(Array.from(fromTensorProto(res.result).data as Float32Array)).toEqual(expectedIris);
      const msgs = await grpcServerStream(
        client,
        GENERATE,
        PredictGenerateRequestSchema,
        PredictGenerateResponseSchema,
        { prompt: "hello", maxTokens: 5 },
      );
      expect(msgs.map((m) => m.result)).toEqual(expectedWords);
    } finally {
      client.close();
    }
  });

  it("answers buf curl over TLS with gRPC, gRPC-Web and Connect", async () => {
    for (const protocol of ["grpcweb", "connect", "grpc"]) {
      const r = await run(bufBin, [
        "curl",
        "--cacert",
        caFile,
        "--schema",
        irisProtoDir,
        "--protocol",
        protocol,
        "-d",
        irisJson(),
        `${base}${IRIS}`,
      ]);
      expect({ protocol, code: r.code, stderr: r.stderr }).toEqual({ protocol, code: 0, stderr: "" });
      const [res] = parseJsonStream(r.stdout) as { result: { shape: string[]; dtype: string; data: string } }[];
      expect(Array.from(tensorFromJson(res!.result).data as Float32Array)).toEqual(expectedIris);
    }
  });

  it("answers curl over TLS with HTTP/1.1 and with HTTP/2 (ALPN)", async () => {
    for (const [flag, version] of [
      ["--http1.1", "1.1"],
      ["--http2", "2"],
    ] as const) {
      const r = await run("curl", [
        "-sS",
        flag,
        "--cacert",
        caFile,
        "-X",
        "POST",
        "-H",
        "content-type: application/json",
        "-d",
        irisJson(),
        "-w",
        "\n%{http_version} %{http_code}",
        `${base}${IRIS}`,
      ]);
      const [body, status] = r.stdout.split("\n");
      expect(status).toBe(`${version} 200`);
      const res = JSON.parse(body!) as { result: { shape: string[]; dtype: string; data: string } };
      expect(Array.from(tensorFromJson(res.result).data as Float32Array)).toEqual(expectedIris);
    }
  });

  it("answers a connect-node client over TLS HTTP/2", async () => {
    const client = createClient(
      InferenceService,
      createConnectTransport({ baseUrl: base, httpVersion: "2", nodeOptions: { ca: cert } }),
    );
    const res = await client.predictIris({ features: toTensorProto(features) });
    expect(Array.from(fromTensorProto(res.result).data as Float32Array)).toEqual(expectedIris);
  });
});

describe("message size cap", () => {
  it("answers a message over readMaxBytes with RESOURCE_EXHAUSTED, over gRPC and Connect, and keeps serving", async () => {
    const server = createServer({ app, services: [InferenceServiceBinding], port: 0, readMaxBytes: 1024 });
    await server.listen();
    try {
      const big = toTensorProto({ dtype: "float32", shape: [64, 4], data: new Float32Array(256) }); // 1 KiB of data
      for (const transport of [
        createGrpcTransport({ baseUrl: server.url() }),
        createConnectTransport({ baseUrl: server.url(), httpVersion: "1.1" }),
      ]) {
        const client = createClient(InferenceService, transport);
        const err = await client.predictIris({ features: big }).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(ConnectError);
        expect((err as ConnectError).code).toBe(Code.ResourceExhausted);
        const ok = await client.predictIris({ features: toTensorProto(features) });
        expect(Array.from(fromTensorProto(ok.result).data as Float32Array)).toEqual(expectedIris);
      }
    } finally {
      await server.close();
    }
  });
});
