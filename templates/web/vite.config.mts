import { spawn, type ChildProcess } from "node:child_process";
import { defineConfig, type Plugin } from "vite";

const API = process.env.API_URL ?? "http://127.0.0.1:50051";

/**
 * `npm run dev`: Vite serves the page and starts the model server beside it (`blaze dev
 * models.ts`: it regenerates the schema and the client when a signature changes, and restarts
 * the server on the same port; Vite picks up the regenerated client like any other source).
 */
function blazeDev(): Plugin {
  let child: ChildProcess | undefined;
  return {
    name: "blaze-dev",
    apply: "serve",
    configureServer(server) {
      if (process.env.API_URL !== undefined) return; // a server of your own is running
      const port = new URL(API).port;
      child = spawn(process.execPath, ["node_modules/@blazerpc/cli/bin/blaze.js", "dev", "models.ts", "--port", port], {
        stdio: "inherit",
      });
      server.httpServer?.once("close", () => child?.kill("SIGTERM"));
      process.once("exit", () => child?.kill("SIGTERM"));
    },
  };
}

// In development the page calls its own origin, and Vite passes the RPCs on to the server
// (Connect and gRPC-Web both work over HTTP/1.1): no CORS needed.
const proxy = { "/demo.v1.InferenceService": API };

export default defineConfig({
  build: { outDir: "dist/web", emptyOutDir: true },
  server: { proxy },
  preview: { proxy },
  plugins: [blazeDev()],
});
