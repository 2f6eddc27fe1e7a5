// A misbehaving HTTP client, aimed at the server by its load tests and by its reliability benchmark.
import { connect } from 'node:net';

/**
 * Opens a connection to `base` (an http:// URL) and sends the first `bytes` bytes of a POST /v1/embed request's
 * headers (padded with an `X-Slow` header) one byte per 100 ms, as a slow client does, then hangs up. Resolves when
 * the connection is closed, by either side; connection errors are the server's answer, not a failure.
 */
export function slowHeaders(base: string, bytes: number, contentType?: string): Promise<void> {
  const u = new URL(base);
  const type = contentType ? `Content-Type: ${contentType}\r\n` : '';
  const text = `POST /v1/embed HTTP/1.1\r\nHost: 127.0.0.1\r\n${type}X-Slow: ` + 'z'.repeat(bytes);
  return new Promise((resolve) => {
    const s = connect(Number(u.port), u.hostname);
    let i = 0;
    s.on('error', () => {});
    s.on('close', () => resolve());
    const timer = setInterval(() => {
      if (i >= bytes || s.destroyed) {
        clearInterval(timer);
        s.destroy();
        return;
      }
      s.write(text[i++]);
    }, 100);
  });
}
