export * from "./protocol-grpc/index.js";
