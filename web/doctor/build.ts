/**
 * Builds the browser doctor page: `page/page.ts` (and the doctor code it imports from `lambda/`)
 * bundled by esbuild for the browser, inlined with its styles into one self-contained HTML file,
 * so it works from `file://`, from `npm start`'s `GET /doctor`, or sent to someone as an attachment.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const PAGE_DIR = join(dirname(fileURLToPath(import.meta.url)), 'page');

/** Where `npm run build:doctor-page` writes the page (git-ignored: it is built, not edited). */
export const DOCTOR_PAGE_FILE = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  'dist',
  'doctor.html',
);

/**
 * Where the page may connect: a JWKS on any https host (wherever a supplier publishes theirs), or
 * plain http on this machine only (the local proxy's `/jwks.json`, the emulator). The policy
 * cannot say "only when the user asks"; the page's code does, and since only the page's own
 * script can run (its hash is the one `script-src`), no other code can make a request.
 */
export const JWKS_CONNECT_SOURCES = 'https: http://127.0.0.1:* http://localhost:*';

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

/**
 * The page's Content-Security-Policy: nothing loads or connects but its own inline script and
 * styles (pinned by hash), its empty data: icon and the JWKS fetch; no forms, frames, fonts or base changes.
 */
export function contentSecurityPolicy(script: string, style: string): string {
  return [
    "default-src 'none'",
    `script-src ${sha256(script)}`,
    `style-src ${sha256(style)}`,
    `connect-src ${JWKS_CONNECT_SOURCES}`,
    // Only the page's empty data: icon, which stops browsers asking the server for /favicon.ico.
    'img-src data:',
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
}

/** The built page and the sizes the benchmark reports. */
export interface DoctorPage {
  readonly html: string;
  /** Bytes of the inlined, minified script. */
  readonly scriptBytes: number;
  /** Bytes of the whole HTML file. */
  readonly htmlBytes: number;
}

/** Builds the page in memory. */
export async function buildDoctorPage(): Promise<DoctorPage> {
  const bundle = await build({
    entryPoints: [join(PAGE_DIR, 'page.ts')],
    bundle: true,
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
    minify: true,
    legalComments: 'none',
    write: false,
    logLevel: 'silent',
  });
  // An inline script ends at the first "</script" and "<!--" changes how it is parsed, wherever
  // they are; esbuild escapes both in strings, so either would mean the bundle cannot be inlined.
  const script = bundle.outputFiles[0]!.text.trim();
  if (/<\/script|<!--/i.test(script)) throw new Error('the doctor page bundle cannot be inlined in <script>');
  const style = (await readFile(join(PAGE_DIR, 'page.css'), 'utf8')).trim();
  const template = await readFile(join(PAGE_DIR, 'page.html'), 'utf8');
  // Function replacers: a "$" in the bundle must not be read as a replacement pattern.
  const html = template
    .replace('__CSP__', () => contentSecurityPolicy(script, style))
    .replace('<style>/* page.css */</style>', () => `<style>${style}</style>`)
    .replace('<script>/* page.ts */</script>', () => `<script>${script}</script>`);
  if (!html.includes(script) || !html.includes(style) || html.includes('__CSP__'))
    throw new Error('the doctor page template lost a placeholder');
  return { html, scriptBytes: Buffer.byteLength(script), htmlBytes: Buffer.byteLength(html) };
}

/** Builds the page into `file` (default {@link DOCTOR_PAGE_FILE}). */
export async function writeDoctorPage(file = DOCTOR_PAGE_FILE): Promise<DoctorPage> {
  const page = await buildDoctorPage();
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, page.html);
  return page;
}
