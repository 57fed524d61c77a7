export type { CreateProjectOptions } from "./create-project.js";
export { createProject, packageManagerOf } from "./create-project.js";
export type { Answers, PromptIO } from "./prompts.js";
export { DEFAULT_DIR, promptForMissing } from "./prompts.js";
export type { ScaffoldOptions, ScaffoldResult } from "./scaffold.js";
export { isEmptyDir, isValidPackageName, scaffold, toDnsLabel, toPackageName } from "./scaffold.js";
export type { TemplateInfo, TemplateName } from "./templates.js";
export { DEFAULT_TEMPLATE, isTemplateName, ownVersion, TEMPLATES, templatesDir } from "./templates.js";
export { main } from "./cli.js";
