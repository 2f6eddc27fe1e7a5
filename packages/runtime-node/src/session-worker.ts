// Worker thread that owns one ONNX Runtime session (see WorkerSession).
import { parentPort, workerData } from 'node:worker_threads';
import { isUserError } from '@semembed/formats/errors';
import { createLocalSession, type RawOutput } from './session.js';

const port = parentPort!;
const { modelPath, options } = workerData as { modelPath: string; options: import('./providers.js').SessionOptions };

try {
  const { session, report } = await createLocalSession(modelPath, options);
  port.on(
    'message',
    async (m: {
      type?: string;
      id: number;
      inputName: string;
      input: Float32Array;
      dims: number[];
      fetches: string[];
    }) => {
      if (m.type === 'release') {
        await session.release();
        port.close();
        return;
      }
      try {
        const outputs = await session.run(m.inputName, m.input, m.dims, m.fetches);
        const transfer = Object.values(outputs).map((o: RawOutput) => o.data.buffer as ArrayBuffer);
        port.postMessage({ id: m.id, outputs }, transfer);
      } catch (err) {
        port.postMessage({
          id: m.id,
          error: err instanceof Error ? err.message : String(err),
          userFacing: isUserError(err),
        });
      }
    },
  );
  port.postMessage({
    type: 'ready',
    report,
    inputNames: [...session.inputNames],
    outputNames: [...session.outputNames],
  });
} catch (err) {
  port.postMessage({ type: 'error', error: err instanceof Error ? err.message : String(err) });
}
