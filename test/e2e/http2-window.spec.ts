// The HTTP/2 connection receive window the server grants: 16 MiB by default (Node's own is
// 64 KiB, which makes request bodies wait in flow control while their deadlines run).
import * as http2 from "node:http2";
import {
  createServer,
  DEFAULT_HTTP2_CONNECTION_WINDOW_BYTES,
  DEFAULT_HTTP2_MAX_FRAME_BYTES,
  DEFAULT_HTTP2_STREAM_WINDOW_BYTES,
  type BlazeServer,
} from "@blazerpc/runtime";
import { app } from "../../examples/iris/models.js";
import { InferenceServiceBinding } from "../../examples/iris/gen/iris/v1/iris_blaze.js";

/** What a real HTTP/2 client may send on the connection before it must wait for a WINDOW_UPDATE. */
async function grantedWindow(server: BlazeServer): Promise<number> {
  const session = http2.connect(server.url());
  try {
    await new Promise((resolve, reject) => {
      session.once("remoteSettings", resolve);
      session.once("error", reject);
    });
    for (let i = 0; i < 100; i++) {
      const granted = session.state.remoteWindowSize ?? 0;
      if (granted > 65_535) return granted;
      await new Promise((r) => setTimeout(r, 10));
    }
    return session.state.remoteWindowSize ?? 0;
  } finally {
    session.close();
  }
}

describe("HTTP/2 connection window", () => {
  it("is 16 MiB by default", async () => {
    const server = createServer({ app, services: [InferenceServiceBinding], port: 0 });
    await server.listen();
    try {
      expect(DEFAULT_HTTP2_CONNECTION_WINDOW_BYTES).toBe(16 * 1024 * 1024);
      expect(await grantedWindow(server)).toBe(DEFAULT_HTTP2_CONNECTION_WINDOW_BYTES);
    } finally {
      await server.close();
    }
  });

  it("follows http2ConnectionWindowBytes", async () => {
    const server = createServer({
      app,
      services: [InferenceServiceBinding],
      port: 0,
      http2ConnectionWindowBytes: 4 * 1024 * 1024,
    });
    await server.listen();
    try {
      expect(await grantedWindow(server)).toBe(4 * 1024 * 1024);
    } finally {
      await server.close();
    }
  });
});

/** The SETTINGS the server announces to a real HTTP/2 client. */
async function announced(server: BlazeServer): Promise<http2.Settings> {
  const session = http2.connect(server.url());
  try {
    return await new Promise<http2.Settings>((resolve, reject) => {
      session.once("remoteSettings", resolve);
      session.once("error", reject);
    });
  } finally {
    session.close();
  }
}

describe("HTTP/2 stream window and frame size (large tensors)", () => {
  it("announce a 4 MiB stream window and 64 KiB frames by default", async () => {
    const server = createServer({ app, services: [InferenceServiceBinding], port: 0 });
    await server.listen();
    try {
      expect(DEFAULT_HTTP2_STREAM_WINDOW_BYTES).toBe(4 * 1024 * 1024);
      expect(DEFAULT_HTTP2_MAX_FRAME_BYTES).toBe(64 * 1024);
      const s = await announced(server);
      expect(s.initialWindowSize).toBe(DEFAULT_HTTP2_STREAM_WINDOW_BYTES);
      expect(s.maxFrameSize).toBe(DEFAULT_HTTP2_MAX_FRAME_BYTES);
    } finally {
      await server.close();
    }
  });

  it("follow http2StreamWindowBytes and http2MaxFrameBytes", async () => {
    const server = createServer({
      app,
      services: [InferenceServiceBinding],
      port: 0,
      http2StreamWindowBytes: 1 << 20,
      http2MaxFrameBytes: 1 << 18,
    });
    await server.listen();
    try {
      const s = await announced(server);
      expect(s.initialWindowSize).toBe(1 << 20);
      expect(s.maxFrameSize).toBe(1 << 18);
    } finally {
      await server.close();
    }
  });
});
