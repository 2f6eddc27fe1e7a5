/**
 * Messages echo what input files contain (a malformed line, a layer name): control characters there would move
 * the cursor, recolour the terminal or split the one-line message. They are shown escaped (\x1b, \n, ...).
 */
export function printable(message: string): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  return message.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => {
    const named: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };
    return named[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
  });
}
