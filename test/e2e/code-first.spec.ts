// Code-first RPCs end to end: test/e2e/fixtures/code-first registers a model beside
// `app.rpc("InferenceDirector.GetHealthStatus", …)`, which returns a named interface, and
// two RPCs that take the call context. Its generated proto/ and gen/ (committed, and checked
// against a fresh `blaze generate` by the last test) are served by `createServer` and by
// `blaze serve`, and called by @grpc/grpc-js (the native gRPC path), by server reflection,
// and by the generated typed clients over Connect (connect-node's path).
import * as path from "node:path";
import {
  create,
  fromBinary,
  toBinary,
  type DescMessage,
  type MessageInitShape,
  type MessageShape,
} from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { createConnectTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { createServer, type BlazeServer } from "@blazerpc/runtime";
import { app, state } from "./fixtures/code-first/models.js";
import {
  InferenceDirectorBinding,
  InferenceServiceBinding,
} from "./fixtures/code-first/gen/code_first/v1/code_first_blaze.js";
import {
  createInferenceDirectorClient,
  createInferenceServiceClient,
} from "./fixtures/code-first/gen/code_first/v1/code_first_client.js";
import {
  CallSeenSchema,
  CountRequestSchema,
  CountResponseSchema,
  GetHealthStatusRequestSchema,
  GreetRequestSchema,
  HealthStatusResponse_OverallStatus as OverallStatus,
  HealthStatusResponseSchema,
  InferenceDirector,
} from "./fixtures/code-first/gen/code_first/v1/code_first_pb.js";
import * as reflection from "../../packages/runtime/src/gen/grpc/reflection/v1/reflection_pb.js";
import { expectGeneratedUpToDate, grpcServerStream, grpcUnary, repoRoot, startBlaze } from "./support.js";

const DIRECTOR = "code_first.v1.InferenceDirector";
const fixture = path.join(repoRoot, "test", "e2e", "fixtures", "code-first");

/** A grpc-js unary call that sends request metadata. */
function grpcUnaryWithMetadata<I extends DescMessage, O extends DescMessage>(
  client: grpc.Client,
  method: string,
  input: I,
  output: O,
  req: MessageInitShape<I>,
  metadata: Record<string, string>,
): Promise<MessageShape<O>> {
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(metadata)) md.set(k, v);
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      method,
      (m: MessageShape<I>) => Buffer.from(toBinary(input, m)),
      (b: Buffer) => fromBinary(output, b),
      create(input, req),
      md,
      (err, res) => (err ? reject(err) : resolve(res!)),
    );
  });
}

/** The file descriptors server reflection (v1) answers for a symbol. */
function reflectSymbol(client: grpc.Client, symbol: string): Promise<reflection.ServerReflectionResponse> {
  return new Promise((resolve, reject) => {
    const call = client.makeBidiStreamRequest(
      "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
      (b: Uint8Array) => Buffer.from(b),
      (b: Buffer) => fromBinary(reflection.ServerReflectionResponseSchema, b),
    );
    call.on("data", (res: reflection.ServerReflectionResponse) => {
      resolve(res);
      call.end();
    });
    call.on("error", reject);
    const req = create(reflection.ServerReflectionRequestSchema, {
      messageRequest: { case: "fileContainingSymbol", value: symbol },
    });
    call.write(toBinary(reflection.ServerReflectionRequestSchema, req));
  });
}

describe("code-first RPCs on one port", () => {
  let server: BlazeServer;
  let client: grpc.Client;

  beforeAll(async () => {
    server = createServer({ app, services: [InferenceServiceBinding, InferenceDirectorBinding], port: 0 });
    await server.listen();
    client = new grpc.Client(`127.0.0.1:${server.address().port}`, grpc.credentials.createInsecure());
  });

  afterAll(async () => {
    client?.close();
    await server?.close();
  });

  afterEach(() => {
    state.status = "HEALTHY";
  });

  it("answers GetHealthStatus at the service and method the app named, with the interface's own message", async () => {
    const call = () =>
      grpcUnary(client, `/${DIRECTOR}/GetHealthStatus`, GetHealthStatusRequestSchema, HealthStatusResponseSchema, {});
    expect(await call()).toMatchObject({
      $typeName: "code_first.v1.HealthStatusResponse",
      overallStatus: OverallStatus.HEALTHY,
    });
    state.status = "DEGRADED";
    expect((await call()).overallStatus).toBe(OverallStatus.DEGRADED);
    // The descriptor the server serves, as generated and as reflection tells a client that has no schema.
    expect(InferenceDirector.method.getHealthStatus.output.typeName).toBe("code_first.v1.HealthStatusResponse");
    const res = await reflectSymbol(client, DIRECTOR);
    const files =
      res.messageResponse.case === "fileDescriptorResponse"
        ? res.messageResponse.value.fileDescriptorProto.map((b) => fromBinary(FileDescriptorProtoSchema, b))
        : [];
    const method = files
      .flatMap((f) => f.service)
      .find((s) => s.name === "InferenceDirector")
      ?.method.find((m) => m.name === "GetHealthStatus");
    expect({ input: method?.inputType, output: method?.outputType }).toEqual({
      input: ".code_first.v1.GetHealthStatusRequest",
      output: ".code_first.v1.HealthStatusResponse",
    });
  });

  it("passes the call context to an RPC that takes it: request headers and the peer, over gRPC", async () => {
    const seen = await grpcUnaryWithMetadata(
      client,
      `/${DIRECTOR}/Greet`,
      GreetRequestSchema,
      CallSeenSchema,
      { name: "ada" },
      { "x-caller": "grpc-js" },
    );
    expect({ ...seen, peer: seen.peer.replace(/^::ffff:/, "") }).toEqual({
      $typeName: "code_first.v1.CallSeen",
      greeting: "hello ada",
      caller: "grpc-js",
      peer: "127.0.0.1",
      protocol: "grpc",
      method: "Greet",
    });
  });

  it("passes the call context to a streaming RPC", async () => {
    const md = new grpc.Metadata();
    md.set("x-caller", "streamer");
    const got = await new Promise<string[]>((resolve, reject) => {
      const call = client.makeServerStreamRequest(
        `/${DIRECTOR}/Count`,
        (m: MessageShape<typeof CountRequestSchema>) => Buffer.from(toBinary(CountRequestSchema, m)),
        (b: Buffer) => fromBinary(CountResponseSchema, b),
        create(CountRequestSchema, { to: 3 }),
        md,
      );
      const out: string[] = [];
      call.on("data", (m: MessageShape<typeof CountResponseSchema>) => out.push(m.result));
      call.on("error", reject);
      call.on("end", () => resolve(out));
    });
    expect(got).toEqual(["streamer:1", "streamer:2", "streamer:3"]);
    // Without the header, the function sees none.
    expect(
      (await grpcServerStream(client, `/${DIRECTOR}/Count`, CountRequestSchema, CountResponseSchema, { to: 1 })).map(
        (m) => m.result,
      ),
    ).toEqual(["?:1"]);
  });

  it("is reached by the generated typed clients over Connect, the model beside the RPCs", async () => {
    const transport = createConnectTransport({ baseUrl: server.url(), httpVersion: "1.1" });
    const director = createInferenceDirectorClient(transport);
    expect(await director.getHealthStatus()).toEqual({ overallStatus: "HEALTHY" });
    const seen = await director.greet("bob", { headers: { "x-caller": "connect" } });
    expect({ ...seen, peer: seen.peer.replace(/^::ffff:/, "") }).toEqual({
      greeting: "hello bob",
      caller: "connect",
      peer: "127.0.0.1",
      protocol: "connect",
      method: "Greet",
    });
    const counted: string[] = [];
    for await (const n of director.count(2, { headers: { "x-caller": "c" } })) counted.push(n);
    expect(counted).toEqual(["c:1", "c:2"]);
    expect(await createInferenceServiceClient(transport).double(21)).toBe(42);
  });
});

describe("blaze serve on the fixture", () => {
  it("finds every generated binding, the RPC services' included, and serves them", async () => {
    const blaze = await startBlaze([path.join(fixture, "models.ts"), "--port", "0"]);
    try {
      await blaze.waitFor(/PredictDouble/);
      expect(blaze.output()).toMatch(/unary +POST \/code_first\.v1\.InferenceDirector\/GetHealthStatus /);
      expect(blaze.output()).toMatch(/stream +POST \/code_first\.v1\.InferenceDirector\/Count /);
      expect(blaze.output()).toMatch(/unary +POST \/code_first\.v1\.InferenceService\/PredictDouble +model "double"/);
      const c = new grpc.Client(`127.0.0.1:${blaze.port}`, grpc.credentials.createInsecure());
      try {
        const res = await grpcUnary(
          c,
          `/${DIRECTOR}/GetHealthStatus`,
          GetHealthStatusRequestSchema,
          HealthStatusResponseSchema,
          {},
        );
        expect(res.overallStatus).toBe(OverallStatus.HEALTHY);
      } finally {
        c.close();
      }
      blaze.child.kill("SIGTERM");
      expect(await blaze.exited).toBe(0);
    } finally {
      blaze.child.kill("SIGKILL");
    }
  }, 60_000);
});

describe("the fixture's generated code", () => {
  it(
    "is what `blaze generate` writes today",
    () => expectGeneratedUpToDate(fixture, "code_first/v1/code_first.lock.json"),
    40_000,
  );
});
