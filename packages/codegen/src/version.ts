/** The version of @blazerpc/codegen, written into the header of generated files. */
export const version = "0.1.0";
