// The table every part of the server reads, built from entries of each origin; served
// in-process through connect's router transport (no sockets).
import { Code, ConnectError, createClient, createRouterTransport, type HandlerContext } from "@connectrpc/connect";
import { InferenceService } from "../../../../test/e2e/fixtures/diff/gen/diff/v1/diff_pb.js";
import {
  InferenceDirector,
  HealthStatus,
} from "../../../../examples/inference-director/gen/director/v1/director_pb.js";
import { ServerReflection } from "../gen/grpc/reflection/v1/reflection_pb.js";
import { createServiceTable, type ServiceEntry } from "./service-table.js";

const DIRECTOR = "director.v1.InferenceDirector";
const DIFF = "diff.v1.InferenceService";

const director: ServiceEntry = {
  service: InferenceDirector,
  impl: { getHealthStatus: () => ({ overallStatus: HealthStatus.DEGRADED }) },
  origin: "own",
  native: true,
};
const refuseAll = { admit: () => undefined, release: () => undefined };
const diff: ServiceEntry = {
  service: InferenceService,
  impl: {
    predictEcho: (req: { data: Uint8Array }) => ({ result: req.data }),
    predictSlow: () => ({ result: "slow" }),
    predictTicks: async function* () {
      yield { result: 1 };
    },
    // Not functions: left out, as if not implemented.
    predictFail: "not a function",
  },
  origin: "model",
  models: { predictEcho: "echo", predictTicks: "ticks" },
  admission: { predictEcho: refuseAll },
  native: true,
};
const reflection: ServiceEntry = {
  service: ServerReflection,
  impl: {
    serverReflectionInfo: async function* () {
      yield {};
    },
  },
  origin: "builtin",
  native: true,
};

describe("createServiceTable", () => {
  const table = createServiceTable([diff, director, reflection]);

  it("lists every implemented method in order, with its path, origin and model", () => {
    expect(table.services).toEqual([diff, director, reflection]);
    expect(table.methods.map((m) => [m.path, m.origin, m.model, m.method.methodKind])).toEqual([
      [`/${DIFF}/PredictEcho`, "model", "echo", "unary"],
      [`/${DIFF}/PredictSlow`, "model", "", "unary"],
      [`/${DIFF}/PredictTicks`, "model", "ticks", "server_streaming"],
      [`/${DIRECTOR}/GetHealthStatus`, "own", "", "unary"],
      ["/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", "builtin", "", "bidi_streaming"],
    ]);
    expect(table.getMethod(`/${DIRECTOR}/GetHealthStatus`)?.service).toBe(InferenceDirector);
    expect(table.getMethod(`/${DIFF}/PredictFail`)).toBeUndefined();
    expect(table.getMethod(`/${DIFF}/PredictTensor`)).toBeUndefined();
    expect(table.getMethod("/nope")).toBeUndefined();
  });

  it("maps service/method to its model, leaving out methods of no model", () => {
    expect([...table.models]).toEqual([
      [`${DIFF}/PredictEcho`, "echo"],
      [`${DIFF}/PredictTicks`, "ticks"],
    ]);
  });

  it("gives the native path the unary and server-streaming methods of native entries only, with admit where given", async () => {
    expect([...table.native.keys()]).toEqual([
      `/${DIFF}/PredictEcho`,
      `/${DIFF}/PredictSlow`,
      `/${DIFF}/PredictTicks`,
      `/${DIRECTOR}/GetHealthStatus`,
    ]);
    const echo = table.native.get(`/${DIFF}/PredictEcho`)!;
    expect(echo.kind).toBe("unary");
    expect(echo.model).toBe("echo");
    expect(echo.kind === "unary" && echo.admission).toBe(refuseAll);
    const slow = table.native.get(`/${DIFF}/PredictSlow`)!;
    expect("admission" in slow).toBe(false);
    expect(table.native.get(`/${DIFF}/PredictTicks`)?.kind).toBe("server_streaming");
    const own = table.native.get(`/${DIRECTOR}/GetHealthStatus`)!;
    expect(own.kind === "unary" && (await own.impl({}, {} as HandlerContext))).toEqual({
      overallStatus: HealthStatus.DEGRADED,
    });
    // The same method from an entry that is not native: served, but not on the native path.
    const notNative = createServiceTable([{ ...director, native: false }]);
    expect(notNative.getMethod(`/${DIRECTOR}/GetHealthStatus`)?.native).toBeUndefined();
    expect(notNative.native.size).toBe(0);
  });

  it("throws when two entries serve the same service", () => {
    expect(() => createServiceTable([director, { ...director, origin: "builtin", impl: {} }])).toThrow(
      `service ${DIRECTOR} is served twice`,
    );
  });

  it("registers every service on a router: implemented methods answer, the others UNIMPLEMENTED", async () => {
    const transport = createRouterTransport((router) => table.register(router));
    const own = createClient(InferenceDirector, transport);
    expect((await own.getHealthStatus({})).overallStatus).toBe(HealthStatus.DEGRADED);
    const models = createClient(InferenceService, transport);
    expect((await models.predictEcho({ data: new Uint8Array([1, 2]) })).result).toEqual(new Uint8Array([1, 2]));
    const err = await models.predictTensor({}).then(
      () => undefined,
      (e: unknown) => ConnectError.from(e),
    );
    expect([err?.code, err?.rawMessage]).toEqual([Code.Unimplemented, `${DIFF}.PredictTensor is not implemented`]);
  });
});
