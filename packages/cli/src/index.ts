export { main } from "./cli.js";
export { serve } from "./commands/serve.js";
export type { ServeFlags } from "./commands/serve.js";
export type { CheckOptions, CheckResult } from "./commands/check.js";
export { check, CHECK_CONFIG } from "./commands/check.js";
export type { GenerateOptions, GenerateResult, ProtoResult, StepReport } from "./commands/generate.js";
export { formatSteps, generate, runBufGenerate, writeProto } from "./commands/generate.js";
export { projectPaths } from "./paths.js";
