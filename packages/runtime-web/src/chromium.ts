/**
 * How this toolchain starts Chromium for the page (tests, the benchmark's browser runner, bench/ scripts), in one
 * place: Debian's /usr/bin/chromium (or CHROMIUM_PATH), headless, a fresh profile with no background traffic
 * (DESIGN.md), WebGPU enabled (Linux needs --enable-unsafe-webgpu; SwiftShader without a GPU). Returns
 * playwright-core's launch options, so this package does not depend on playwright itself.
 */
export const chromiumPath = (): string => process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const CHROMIUM_FLAGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--enable-unsafe-webgpu',
];

/** Options for playwright's `chromium.launchPersistentContext(profileDir, ...)` (or `chromium.launch`). */
export function chromiumLaunchOptions(extraArgs: string[] = []): {
  executablePath: string;
  headless: true;
  args: string[];
} {
  return { executablePath: chromiumPath(), headless: true, args: [...CHROMIUM_FLAGS, ...extraArgs] };
}
