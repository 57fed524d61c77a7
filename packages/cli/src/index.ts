export { main } from "./cli.js";
export { serve } from "./commands/serve.js";
export type { ServeFlags } from "./commands/serve.js";
export { runBufGenerate, writeProto } from "./commands/generate.js";
export { projectPaths } from "./paths.js";
