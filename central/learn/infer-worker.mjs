// Inference worker for central/learn/scorer.ts: owns one onnxruntime session so the thread that
// consumes readings never waits on a model. Plain JavaScript so that it starts without the tsx
// loader. Messages in: {type:'load', model: Uint8Array, input, output, column, sign, offset},
// {type:'score', id, data: Float32Array, rows, cols}. Out: {type:'loaded'} | {type:'error', id?, message}
// | {type:'scores', id, scores: Float32Array}. A score is "higher = more anomalous".
import { parentPort } from 'node:worker_threads';
import ort from 'onnxruntime-node';

let session;
let spec;

parentPort.on('message', async (msg) => {
  try {
    if (msg.type === 'load') {
      // One intra-op thread: central shares its cores with the consumer and the archives.
      session = await ort.InferenceSession.create(msg.model, { intraOpNumThreads: 1, interOpNumThreads: 1 });
      if (!session.inputNames.includes(msg.input)) throw new Error(`model has no input ${msg.input} (has ${session.inputNames.join(', ')})`);
      if (!session.outputNames.includes(msg.output)) throw new Error(`model has no output ${msg.output} (has ${session.outputNames.join(', ')})`);
      spec = msg;
      parentPort.postMessage({ type: 'loaded' });
      return;
    }
    if (msg.type === 'score') {
      if (!session) throw new Error('no model loaded');
      const feeds = { [spec.input]: new ort.Tensor('float32', msg.data, [msg.rows, msg.cols]) };
      const out = (await session.run(feeds, [spec.output]))[spec.output];
      const width = out.dims.length > 1 ? Number(out.dims[1]) : 1;
      if (out.dims[0] !== msg.rows || spec.column >= width) throw new Error(`output ${spec.output} has dims [${out.dims.join(', ')}], expected [${msg.rows}, >${spec.column}]`);
      const scores = new Float32Array(msg.rows);
      for (let i = 0; i < msg.rows; i++) {
        const s = spec.sign * Number(out.data[i * width + spec.column]) + spec.offset;
        if (!Number.isFinite(s)) throw new Error(`non-finite score at row ${i}`);
        scores[i] = s;
      }
      parentPort.postMessage({ type: 'scores', id: msg.id, scores }, [scores.buffer]);
    }
  } catch (err) {
    parentPort.postMessage({ type: 'error', id: msg.id, message: err instanceof Error ? err.message : String(err) });
  }
});
