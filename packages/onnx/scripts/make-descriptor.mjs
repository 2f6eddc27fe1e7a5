// Regenerates src/onnx.proto3.json (the protobufjs descriptor the package loads) from proto/onnx.proto3, the
// official schema copied from onnx/onnx (Apache-2.0, see proto/LICENSE). Checked in so that browsers and bundlers
// need neither fs nor a .proto parser: `npm run descriptor -w @semembed/onnx` after updating the .proto3 file.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

const here = dirname(fileURLToPath(import.meta.url));
const source = readFileSync(join(here, '..', 'proto', 'onnx.proto3'), 'utf8');
const { root } = protobuf.parse(source, { keepCase: false, alternateCommentMode: false });

// onnx and onnxruntime are built from the proto2 form of this schema (onnx-ml.proto): a set field is written even
// when it holds its default (explicit presence) and repeated numbers are packed only where marked [packed = true].
// Marking each message "proto2" gives protobufjs those rules, so our files are byte-identical to the onnx package's.
let messages = 0;
function proto2(ns) {
  for (const value of Object.values(ns.nested ?? {})) {
    if (value.fields) {
      value.edition = 'proto2';
      messages++;
    }
    proto2(value);
  }
}
const tree = root.toJSON({ keepComments: false });
proto2(tree);
const json = JSON.stringify(tree, null, 1);
writeFileSync(join(here, '..', 'src', 'onnx.proto3.json'), json + '\n');
console.log(`src/onnx.proto3.json: ${json.length} bytes, ${messages} messages with proto2 wire rules`);
