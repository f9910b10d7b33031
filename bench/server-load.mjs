// Bounded, self-stopping load test of `ras serve` on loopback (our own client: node's http, no dependencies).
//   node bench/server-load.mjs [--dll src/Ras.Cli/bin/Release/net10.0/ras.dll] [--connections 32] [--seconds 60] [--warmup 10]
// Starts the server on a free port (built-in model), then:
//   1. warm-up: the load mix for --warmup seconds, then reads the server's RSS;
//   2. load: --connections clients for --seconds, mixing txt2img, progress and the OpenAI route; a watcher polls the queue;
//   3. disconnects: 20 clients start long jobs and drop their connections; time until every slot is free vs one step;
//   4. stops the server (SIGTERM) and prints one JSON summary (also written to bench/results/server-load.json).
import { spawn } from 'node:child_process';
import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';

const args = Object.fromEntries(process.argv.slice(2).reduce((pairs, a, i, all) => (a.startsWith('--') ? [...pairs, [a.slice(2), all[i + 1]]] : pairs), []));
const dll = args.dll ?? 'src/Ras.Cli/bin/Release/net10.0/ras.dll';
const connections = Number(args.connections ?? 32);
const seconds = Number(args.seconds ?? 60);
const warmupSeconds = Number(args.warmup ?? 10);
let server;
const hardStop = setTimeout(() => { console.error('server-load: hard time limit reached'); server.kill('SIGKILL'); process.exit(3); }, (warmupSeconds + seconds + 180) * 1000);

server = spawn('dotnet', [dll, 'serve', '--port', '0', '--queue-size', '16'], { stdio: ['ignore', 'pipe', 'inherit'] });
const base = await new Promise((resolve, reject) => {
  let text = '';
  server.stdout.on('data', (chunk) => {
    text += chunk;
    const match = text.match(/listening on (http:\/\/127\.0\.0\.1:\d+\/)/);
    if (match) resolve(match[1]);
  });
  server.on('exit', (code) => reject(new Error(`ras serve exited ${code}`)));
});
const { port } = new URL(base);
const agent = new http.Agent({ keepAlive: true, maxSockets: connections + 4 });

function request(method, path, body, options = {}) {
  return new Promise((resolve) => {
    const started = performance.now();
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request({ host: '127.0.0.1', port, method, path, agent: options.agent ?? agent,
      headers: data ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data) } : {} }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, ms: performance.now() - started, body: Buffer.concat(chunks).toString(), retryAfter: res.headers['retry-after'] }));
    });
    req.on('error', (error) => resolve({ status: 'error', ms: performance.now() - started, error: String(error.code ?? error) }));
    options.onRequest?.(req);
    if (data) req.write(data);
    req.end();
  });
}

const rss = () => Number(readFileSync(`/proc/${server.pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)[1]) * 1024;
const prompt = 'a small red circle at the center on a blue background';
const mix = [
  ['progress', () => request('GET', '/sdapi/v1/progress?skip_current_image=true')],
  ['progress', () => request('GET', '/sdapi/v1/progress?skip_current_image=true')],
  ['txt2img', () => request('POST', '/sdapi/v1/txt2img', { prompt, steps: 4, seed: -1, alwayson_scripts: { RAS: { args: [true] } } })],
  ['openai', () => request('POST', '/v1/images/generations', { prompt, steps: 4, ras: true, response_format: 'b64_json' })],
];

async function load(durationSeconds, record) {
  const until = performance.now() + durationSeconds * 1000;
  let turn = 0;
  await Promise.all(Array.from({ length: connections }, async (_, c) => {
    while (performance.now() < until) {
      const [route, call] = mix[(c + turn++) % mix.length];
      const result = await call();
      record?.(route, result);
      if (result.status === 429) await new Promise((r) => setTimeout(r, 250));   // a polite client backs off
    }
  }));
}

const percentile = (values, p) => { const s = [...values].sort((a, b) => a - b); return s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))] : null; };

// 1. Warm-up.
console.error(`server-load: ${base}, warm-up ${warmupSeconds} s`);
await load(warmupSeconds);
const rssAfterWarmup = rss();
const memoryAfterWarmup = JSON.parse((await request('GET', '/ras/v1/capabilities')).body).memory;

// 2. Load, with a watcher of the queue.
console.error(`server-load: load, ${connections} connections for ${seconds} s`);
const stats = {};
let maxPendingSeen = 0;
let watching = true;
const watcher = (async () => {
  while (watching) {
    const caps = await request('GET', '/ras/v1/capabilities');
    if (caps.status === 200) maxPendingSeen = Math.max(maxPendingSeen, JSON.parse(caps.body).queue.pending);
    await new Promise((r) => setTimeout(r, 200));
  }
})();
await load(seconds, (route, result) => {
  const s = (stats[route] ??= { count: 0, statuses: {}, ms: [] });
  s.count++;
  s.statuses[result.status] = (s.statuses[result.status] ?? 0) + 1;
  s.ms.push(result.ms);
});
watching = false;
await watcher;
const rssAtEnd = rss();
const caps = JSON.parse((await request('GET', '/ras/v1/capabilities')).body);

console.error("server-load: disconnects");
// 3. Disconnects: measure one step of a long job, then 20 clients start long jobs and drop their connections.
const long = { prompt, steps: 150, seed: 1 };
const stepProbe = request('POST', '/sdapi/v1/txt2img', long, { agent: false });
let lastStep = -1, lastAt = 0;
const stepTimes = [];
while (stepTimes.length < 8) {
  const p = JSON.parse((await request('GET', '/sdapi/v1/progress?skip_current_image=true')).body);
  const step = p.state.sampling_step;
  if (step !== lastStep) { if (lastStep > 0 && step === lastStep + 1) stepTimes.push(performance.now() - lastAt); lastStep = step; lastAt = performance.now(); }
  await new Promise((r) => setTimeout(r, 5));
}
console.error(`server-load: one step ${JSON.stringify(stepTimes.map(Math.round))} ms`);
await request('POST', '/sdapi/v1/interrupt', {});
await stepProbe;
console.error('server-load: dropping 20 clients');
const stepMs = percentile(stepTimes, 0.5);
const dropped = [];
for (let i = 0; i < 20; i++) {
  request('POST', '/sdapi/v1/txt2img', long, { agent: false, onRequest: (req) => dropped.push(req) });
}
while (JSON.parse((await request('GET', '/ras/v1/capabilities')).body).queue.pending < 16) await new Promise((r) => setTimeout(r, 20));
await new Promise((r) => setTimeout(r, 300));
const beforeDrop = JSON.parse((await request('GET', '/ras/v1/capabilities')).body).queue;
const droppedAt = performance.now();
for (const req of dropped) req.destroy();
let freedMs = null;
while (performance.now() - droppedAt < 30000) {
  const q = JSON.parse((await request('GET', '/ras/v1/capabilities')).body).queue;
  if (q.pending === 0 && !q.active) { freedMs = performance.now() - droppedAt; break; }
  await new Promise((r) => setTimeout(r, 5));
}

console.error("server-load: stopping");
// 4. Stop.
server.kill('SIGTERM');
const exitCode = await new Promise((resolve) => server.on('exit', (code) => resolve(code)));
agent.destroy();
clearTimeout(hardStop);

const routes = Object.fromEntries(Object.entries(stats).map(([route, s]) => [route, {
  requests: s.count, statuses: s.statuses, p50_ms: Math.round(percentile(s.ms, 0.5)), p99_ms: Math.round(percentile(s.ms, 0.99)),
}]));
const all = Object.values(stats).flatMap((s) => Object.entries(s.statuses));
const summary = {
  connections, seconds, warmup_seconds: warmupSeconds, routes,
  only_200_or_429: all.every(([status]) => status === '200' || status === '429'),
  server_errors_5xx: all.filter(([status]) => status.startsWith('5')).reduce((n, [, c]) => n + c, 0),
  queue_cap: caps.queue.size, max_pending_polled: maxPendingSeen, max_pending_observed_by_server: caps.queue.max_pending_observed,
  rss_after_warmup_mb: +(rssAfterWarmup / 2 ** 20).toFixed(1), rss_at_end_mb: +(rssAtEnd / 2 ** 20).toFixed(1),
  rss_change_percent: +((100 * (rssAtEnd - rssAfterWarmup)) / rssAfterWarmup).toFixed(1),
  disconnects: { clients: 20, queued_before: beforeDrop.pending, active_before: beforeDrop.active, step_ms: Math.round(stepMs), freed_ms: freedMs && Math.round(freedMs),
    within_one_step: freedMs !== null && freedMs <= stepMs },
  memory_after_warmup: memoryAfterWarmup, memory_at_end: caps.memory,
  server_exit_code: exitCode,
};
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/server-load.json', JSON.stringify(summary, null, 2));
console.log(JSON.stringify(summary, null, 2));
