import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-web";
import { createInferenceServiceClient, type InferenceServiceClient } from "../gen/demo/v1/demo_client.js";

export type Protocol = "connect" | "grpc-web";

/**
 * The generated typed client over Connect (JSON) or gRPC-Web (binary). The server is this
 * page's origin (in development Vite passes the calls on), or `?api=<url>`.
 */
export function client(
  protocol: Protocol,
  baseUrl = new URLSearchParams(location.search).get("api") ?? location.origin,
): InferenceServiceClient {
  const transport = protocol === "grpc-web" ? createGrpcWebTransport({ baseUrl }) : createConnectTransport({ baseUrl });
  return createInferenceServiceClient(transport);
}

const SPECIES = ["setosa", "versicolor", "virginica"] as const;

/** One flower's class probabilities, by species. */
export async function classify(
  protocol: Protocol,
  features: readonly number[],
): Promise<Record<(typeof SPECIES)[number], number>> {
  const p = await client(protocol).classify({ dtype: "float32", shape: [1, 4], data: new Float32Array(features) });
  return Object.fromEntries(SPECIES.map((s, i) => [s, p.data[i]!])) as Record<(typeof SPECIES)[number], number>;
}

/** The streamed words, as they come. */
export async function* generate(protocol: Protocol, prompt: string, maxTokens: number): AsyncGenerator<string> {
  yield* client(protocol).generate(prompt, maxTokens);
}
