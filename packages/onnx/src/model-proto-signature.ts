import { fromBinary } from "@bufbuild/protobuf";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import { ValueInfoProtoSchema, type ValueInfoProto } from "./gen/onnx/onnx_pb.js";

// Field numbers of onnx.proto (see proto/onnx/onnx.proto).
const MODEL_GRAPH = 7;
const GRAPH_INPUT = 11;
const GRAPH_OUTPUT = 12;

/** The graph inputs and outputs an ONNX file declares. */
export interface ModelProtoSignature {
  readonly inputs: readonly ValueInfoProto[];
  readonly outputs: readonly ValueInfoProto[];
}

/**
 * Reads only the graph's inputs and outputs from an ONNX file's bytes: every other field
 * (nodes, and weights above all) is skipped without being decoded, so this stays cheap
 * for a large model.
 *
 * @throws Error when the bytes are not valid protobuf.
 */
export function readModelProtoSignature(bytes: Uint8Array): ModelProtoSignature {
  const inputs: ValueInfoProto[] = [];
  const outputs: ValueInfoProto[] = [];
  const model = new BinaryReader(bytes);
  while (model.pos < model.len) {
    const [field, wireType] = model.tag();
    if (field !== MODEL_GRAPH || wireType !== WireType.LengthDelimited) {
      model.skip(wireType, field);
      continue;
    }
    // A message field may occur more than once; protobuf merges the occurrences.
    const graph = new BinaryReader(model.bytes());
    while (graph.pos < graph.len) {
      const [f, wt] = graph.tag();
      if ((f === GRAPH_INPUT || f === GRAPH_OUTPUT) && wt === WireType.LengthDelimited) {
        (f === GRAPH_INPUT ? inputs : outputs).push(fromBinary(ValueInfoProtoSchema, graph.bytes()));
      } else {
        graph.skip(wt, f);
      }
    }
  }
  return { inputs, outputs };
}
