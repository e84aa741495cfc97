// The API reference at /docs: Redoc served by the binary renders the OpenAPI document (no
// network beyond the server); at 1280 and 390 px.
import { run, expect, DESKTOP, PHONE } from './lib.mjs';

const url = process.env.DOCS_URL;

await run('docs', async (browser, c) => {
  const page = await browser.newPage({ viewport: DESKTOP, locale: 'en-GB' });
  // Anything outside the server must be stopped by the page's Content-Security-Policy
  // before it reaches the network (Redoc's footer asks a CDN for its logo).
  const outside = [];
  const local = (u) => u.startsWith(new URL(url).origin) || u.startsWith('blob:') || u.startsWith('data:');
  const blocked = new Set();
  page.on('requestfailed', (r) => {
    if (/csp/i.test(r.failure()?.errorText || '')) blocked.add(r.url());
  });
  page.on('request', (r) => { if (!local(r.url())) outside.push(r.url()); });
  await page.goto(url);
  // Redoc renders the document's title and the operations of each tag.
  await page.waitForSelector('h1', { timeout: 60000 });
  const title = await page.textContent('h1');
  expect(title.includes('openmyna'), `the document's title: ${title}`);
  await page.waitForFunction(
    () => document.body.innerText.includes('/api/v1/registry/residents'),
    null,
    { timeout: 60000 },
  );
  await c.shot(page, 'docs');
  await page.setViewportSize(PHONE);
  await c.shot(page, 'docs-phone');
  const leaked = outside.filter((u) => !blocked.has(u));
  expect(leaked.length === 0, `requests outside the server not blocked: ${leaked.join(', ')}`);
});
