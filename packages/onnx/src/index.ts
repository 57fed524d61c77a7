/**
 * @blazerpc/onnx is a placeholder: ONNX models (onnxruntime-node sessions, signatures read
 * from the ONNX file, zero-code serving) are built in the execution-engine issue.
 */
export const ONNX_SUPPORT = "planned" as const;
