/**
 * The doctor page's figures for `npm run bench`: its size (HTML, inlined script, gzipped as a mail
 * attachment or a download would travel), its first render in headless Chromium opened from
 * file://, and how long it takes to diagnose and repair an assertion with an en dash in its
 * signature against an RSA-4096 JWKS. It reports; it does not assert.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { buildDoctorPage } from '../../web/doctor/build.js';
import { launchChromium } from './chromium.js';
import { API_KEY, AT, dashedAssertion, JWKS } from './fixtures.js';

/** What {@link measureDoctorPage} reports; times are medians over the runs, in milliseconds. */
export interface DoctorPageFigures {
  readonly htmlBytes: number;
  readonly scriptBytes: number;
  readonly gzipBytes: number;
  /** Navigation start to first contentful paint. */
  readonly firstPaintMs: number;
  /** Navigation start to the end of DOMContentLoaded: the inline script has run and the form works. */
  readonly readyMs: number;
  /** Click on Diagnose to the verdict shown, for an en-dash assertion whose repair verifies. */
  readonly diagnoseMs: number;
  readonly runs: number;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** Builds the page and measures it in a fresh headless Chromium, `runs` times (a fresh tab each). */
export async function measureDoctorPage(runs = 5): Promise<DoctorPageFigures> {
  const page = await buildDoctorPage();
  const dir = await mkdtemp(join(tmpdir(), 'doctor-measure-'));
  const file = join(dir, 'doctor.html');
  await writeFile(file, page.html);
  const browser = await launchChromium();
  const paint: number[] = [];
  const ready: number[] = [];
  const diagnose: number[] = [];
  try {
    const { damaged } = dashedAssertion();
    for (let run = 0; run < runs; run += 1) {
      const tab = await browser.context.newPage();
      await tab.goto(pathToFileURL(file).href, { waitUntil: 'load' });
      // Paint entries arrive after the frame is drawn, so they are observed (buffered) rather than read.
      const timing = await tab.evaluate(`new Promise((resolve) => {
        const ready = performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd;
        new PerformanceObserver((list) => {
          const fcp = list.getEntriesByName('first-contentful-paint')[0];
          if (fcp) resolve({ ready, paint: fcp.startTime });
        }).observe({ type: 'paint', buffered: true });
        setTimeout(() => resolve({ ready, paint: NaN }), 5000);
      })`);
      const { ready: readyAt, paint: paintAt } = timing as { ready: number; paint: number };
      ready.push(readyAt);
      paint.push(paintAt);
      await tab.fill('#assertion', damaged);
      await tab.fill('#jwks', JWKS);
      await tab.selectOption('#environment', 'int');
      await tab.fill('#api-key', API_KEY);
      await tab.fill('#judge-at', AT);
      const started = performance.now();
      await tab.click('#diagnose');
      await tab.locator('#repair-reveal:not([hidden])').waitFor();
      diagnose.push(performance.now() - started);
      await tab.close();
    }
  } finally {
    await browser.close();
    await rm(dir, { recursive: true, force: true });
  }
  return {
    htmlBytes: page.htmlBytes,
    scriptBytes: page.scriptBytes,
    gzipBytes: gzipSync(page.html).length,
    firstPaintMs: median(paint),
    readyMs: median(ready),
    diagnoseMs: median(diagnose),
    runs,
  };
}
