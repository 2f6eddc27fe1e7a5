// autocannon in its own process (reads options as JSON on stdin, prints a summary as JSON).
// Loopback only, bounded by duration.
import autocannon from 'autocannon';

let raw = '';
for await (const chunk of process.stdin) raw += chunk;
const o = JSON.parse(raw);
if (!/^http:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])[:/]/.test(o.url)) throw new Error(`refusing non-loopback target ${o.url}`);
const body = o.body === undefined ? undefined : o.bodyBase64 ? Buffer.from(o.body, 'base64') : o.body;
const r = await autocannon({ url: o.url, method: o.method ?? 'POST', ...(o.type && { headers: { 'content-type': o.type, ...o.headers } }), ...(body !== undefined && { body }), connections: o.connections, duration: o.duration, timeout: 30 });
console.log(JSON.stringify({ rps: r.requests.total / r.duration, total: r.requests.total, p50: r.latency.p50, p99: r.latency.p99, non2xx: r.non2xx, errors: r.errors, timeouts: r.timeouts }));
