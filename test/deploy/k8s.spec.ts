// The Kubernetes manifests every new project gets (templates/_deploy/k8s/): valid against the
// API's schemas (kubernetes-models, offline), and saying what the scaling guide says they
// say — gRPC startup and readiness probes, an HTTP liveness probe, resources, a termination
// grace period above the drain delay plus the shutdown grace, an h2c Service, autoscaling on
// CPU and on queue depth (a metric /metrics really exports), a disruption budget.
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseAllDocuments } from "yaml";
import { createApp, createServer } from "@blazerpc/runtime";

const root = path.resolve(__dirname, "..", "..");
const k8s = path.join(root, "templates", "_deploy", "k8s");
const FILES = [path.join(k8s, "service.yaml"), path.join(k8s, "hpa-queue-depth.yaml")];

interface Checked {
  file: string;
  kind: string;
  name: string;
  error?: string;
}

/** Validates manifests with kubernetes-models (ESM only: under plain node, in validate-k8s.mjs). */
function validate(files: string[]): Promise<Checked[]> {
  return new Promise((resolve, reject) =>
    execFile(
      process.execPath,
      [path.join(__dirname, "validate-k8s.mjs"), ...files],
      { cwd: root, timeout: 30_000 },
      (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(JSON.parse(stdout))),
    ),
  );
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- manifests are plain YAML data
type Manifest = any;
const docs = (file: string): Manifest[] =>
  parseAllDocuments(fs.readFileSync(file, "utf8"))
    .map((d) => d.toJS() as Manifest)
    .filter((d) => d !== null);
const byKind = (file: string, kind: string): Manifest => {
  const found = docs(file).filter((d) => d.kind === kind);
  expect(found).toHaveLength(1);
  return found[0];
};

describe("the Kubernetes manifests of a new project", () => {
  it("are valid against the Kubernetes API's schemas", async () => {
    const results = await validate(FILES);
    expect(results.map((r) => `${r.kind} ${r.name}${r.error !== undefined ? `: ${r.error}` : ""}`)).toEqual([
      "Deployment blazerpc-app",
      "Service blazerpc-app",
      "HorizontalPodAutoscaler blazerpc-app",
      "PodDisruptionBudget blazerpc-app",
      "HorizontalPodAutoscaler blazerpc-app",
    ]);
  }, 60_000);

  it("the validator does refuse a manifest that is not valid", async () => {
    const bad = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "k8s-")), "bad.yaml");
    fs.writeFileSync(bad, fs.readFileSync(FILES[0]!, "utf8").replace("replicas: 2", "replicas: two"));
    const results = await validate([bad]);
    expect(results.find((r) => r.kind === "Deployment")?.error).toBe("data/spec/replicas must be integer");
    fs.rmSync(path.dirname(bad), { recursive: true, force: true });
  }, 60_000);

  it("Deployment: gRPC startup and readiness probes, HTTP liveness, resources, a grace period above drain + shutdown", () => {
    const d = byKind(FILES[0]!, "Deployment");
    const pod = d.spec.template.spec;
    const c = pod.containers[0];
    expect(c.startupProbe.grpc.port).toBe(50051);
    expect(c.readinessProbe.grpc.port).toBe(50051);
    expect(c.livenessProbe.httpGet.path).toBe("/healthz");
    expect(c.resources.requests.cpu).toBeDefined();
    expect(c.resources.limits.memory).toBeDefined();
    const env = Object.fromEntries(c.env.map((e: { name: string; value: string }) => [e.name, e.value]));
    expect(env.HOST).toBe("0.0.0.0");
    const drainMs = Number(env.BLAZE_DRAIN_DELAY_MS);
    const graceMs = Number(env.BLAZE_SHUTDOWN_GRACE_MS);
    // The endpoint is removed (a failed readiness probe) within the drain delay.
    expect(drainMs).toBeGreaterThan(c.readinessProbe.periodSeconds * c.readinessProbe.failureThreshold * 1000);
    expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThan(drainMs + graceMs);
    expect(d.spec.strategy.rollingUpdate.maxUnavailable).toBe(0);
    expect(pod.securityContext.runAsNonRoot).toBe(true);
  });

  it("Service with appProtocol kubernetes.io/h2c; HPA on CPU; a PodDisruptionBudget; one name throughout", () => {
    const s = byKind(FILES[0]!, "Service");
    expect(s.spec.ports[0].appProtocol).toBe("kubernetes.io/h2c");
    const hpa = byKind(FILES[0]!, "HorizontalPodAutoscaler");
    expect(hpa.spec.metrics[0].resource.name).toBe("cpu");
    expect(hpa.spec.scaleTargetRef).toMatchObject({ kind: "Deployment", name: "blazerpc-app" });
    expect(byKind(FILES[0]!, "PodDisruptionBudget").spec.minAvailable).toBe(1);
    for (const doc of docs(FILES[0]!)) expect(doc.metadata.name).toBe("blazerpc-app");
  });

  it("HPA on queue depth scales on a metric the server's /metrics exports", async () => {
    const hpa = byKind(FILES[1]!, "HorizontalPodAutoscaler");
    const metric: string = hpa.spec.metrics[0].pods.metric.name;
    const app = createApp({ name: "k8s" });
    const server = createServer({ app, services: [], port: 0 });
    await server.listen();
    try {
      const text = await (await fetch(`${server.url()}/metrics`)).text();
      expect(text).toMatch(new RegExp(`^# TYPE ${metric} gauge$`, "m"));
    } finally {
      await server.close();
    }
  });
});
