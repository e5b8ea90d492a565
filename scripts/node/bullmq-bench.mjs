// BullMQ side of the queue benchmark (crates/store/benches/queue_vs_bullmq.rs runs it).
// Fan-out of JOBS jobs to ENCLAVES queues (one per enclave, as Verity fans out to
// one consumer group per enclave), PAYLOAD bytes each, CONCURRENCY workers per
// enclave; prints {"tasks": N, "seconds": S} once every task is processed.
// Usage: node bullmq-bench.mjs REDIS_PORT JOBS ENCLAVES PAYLOAD CONCURRENCY PREFIX
import { Queue, Worker } from 'bullmq';
import IORedis from 'ioredis';

const [port, jobs, enclaves, payload, concurrency, prefix] = process.argv.slice(2);
// BullMQ 6 takes ready client instances in ESM; workers need maxRetriesPerRequest: null.
const connect = () => new IORedis({ host: '127.0.0.1', port: Number(port), maxRetriesPerRequest: null });
const connection = connect();
const body = 'x'.repeat(Number(payload));
const total = Number(jobs) * Number(enclaves);
const queues = [...Array(Number(enclaves)).keys()].map((i) => new Queue(`enclave-${i + 1}`, { connection, prefix }));

let done = 0;
let finish;
const finished = new Promise((resolve) => (finish = resolve));
const start = process.hrtime.bigint();
const workers = queues.map(
  (q) =>
    new Worker(q.name, async () => {}, {
      connection: connect(),
      prefix,
      concurrency: Number(concurrency),
      removeOnComplete: { count: 0 },
    }).on('completed', () => {
      done += 1;
      if (done === total) finish();
    }),
);
// Publish in batches of 100 fan-outs, like a busy API.
for (let j = 0; j < Number(jobs); j += 100) {
  const batch = [...Array(Math.min(100, Number(jobs) - j)).keys()].map((k) => ({ name: 'verify', data: { job: j + k, body } }));
  await Promise.all(queues.map((q) => q.addBulk(batch.map((b) => ({ ...b, opts: { jobId: `job-${b.data.job}`, removeOnComplete: true } })))));
}
await finished;
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
process.stdout.write(JSON.stringify({ tasks: total, seconds }) + '\n');
await Promise.all(workers.map((w) => w.close()));
await Promise.all(queues.map((q) => q.obliterate({ force: true }).then(() => q.close())));
await connection.quit();
process.exit(0);
