import { encodeGrpcMessage, respecGrpcMessage } from "./grpc-message.js";

describe("encodeGrpcMessage", () => {
  it("leaves printable ASCII as it is, ':' ',' and spaces included", () => {
    const text = "features: dtype is float64, expected float32 ~!@#$^&*()[]{}<>?/|\"'\\";
    expect(encodeGrpcMessage(text)).toBe(text);
  });

  it("percent-encodes '%', control bytes and every UTF-8 byte above 0x7E, in capitals", () => {
    expect(encodeGrpcMessage("100%")).toBe("100%25");
    expect(encodeGrpcMessage("a\nb\tc\u007f")).toBe("a%0Ab%09c%7F");
    expect(encodeGrpcMessage("é → 🚀")).toBe("%C3%A9 %E2%86%92 %F0%9F%9A%80");
  });

  it("is undone by decodeURIComponent, as clients decode", () => {
    const text = "code 3: colon:comma,percent%25 100% ünïcødé ✓ 🚀\nline";
    expect(decodeURIComponent(encodeGrpcMessage(text))).toBe(text);
  });
});

describe("respecGrpcMessage", () => {
  it("rewrites connect's encodeURIComponent form as the spec writes it, and is idempotent", () => {
    const h = new Headers({ "grpc-message": encodeURIComponent("features: bad, 100% é") });
    respecGrpcMessage(h);
    expect(h.get("grpc-message")).toBe("features: bad, 100%25 %C3%A9");
    respecGrpcMessage(h);
    expect(h.get("grpc-message")).toBe("features: bad, 100%25 %C3%A9");
  });

  it("cuts the message first when given a limit; leaves absent or undecodable values alone", () => {
    const h = new Headers({ "grpc-message": encodeURIComponent("x".repeat(10)) });
    respecGrpcMessage(h, (m) => m.slice(0, 3));
    expect(h.get("grpc-message")).toBe("xxx");
    const bad = new Headers({ "grpc-message": "%E0%A4%A" });
    respecGrpcMessage(bad);
    expect(bad.get("grpc-message")).toBe("%E0%A4%A");
    const none = new Headers();
    respecGrpcMessage(none);
    expect(none.has("grpc-message")).toBe(false);
  });
});
