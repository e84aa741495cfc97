// The multi-copy machine (openmyna konbini --ui): place the card, a wrong PIN (the tries left),
// the right one, 住民票の写し of the household with 続柄, the fee and the document (downloaded
// to WORK_DIR/certificate.pdf for the Rust test to check), the card back; then the same card
// with three wrong PINs: locked, nothing issued. At 1280×800 and at a phone's 390 px.
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { run, expect, DESKTOP, PHONE } from './lib.mjs';

const url = process.env.MACHINE_URL;
const pin = process.env.CARD_PIN || '1234';
const work = process.env.WORK_DIR;

async function screen(page) {
  return page.getAttribute('#screen', 'data-screen');
}

await run('konbini', async (browser, c) => {
  const context = await browser.newContext({ viewport: DESKTOP, locale: 'ja-JP', acceptDownloads: true });
  const page = await context.newPage();
  await page.goto(url);
  expect((await screen(page)) === 'place', 'starts with the card');
  await c.check(page, 'place');
  await c.shot(page, 'place');
  await page.click('#place');
  await page.waitForSelector('#pin');
  await c.check(page, 'pin');
  await page.fill('#pin', pin === '9999' ? '8888' : '9999');
  await page.click('#pin-ok');
  await page.waitForSelector('#tries-left');
  expect((await page.textContent('#tries-left')).trim() === '2', 'two tries left');
  await c.check(page, 'wrong-pin');
  await c.shot(page, 'wrong-pin');
  await page.fill('#pin', pin);
  await page.click('#pin-ok');
  await page.waitForSelector('#issue');
  await c.check(page, 'choose');
  await c.shot(page, 'choose');
  await page.check('#opt-household');
  await page.check('#opt-relationship');
  await page.click('#issue');
  await page.waitForSelector('#download');
  expect((await page.textContent('#fee')).includes('200円'), 'the fee');
  expect((await page.textContent('#ready-title')).includes('住民票の写し'), 'the certificate');
  const code = (await page.textContent('#code')).trim();
  expect(/^[A-Z0-9]{4}(-[A-Z0-9]{4}){3}$/.test(code), `a verification code: ${code}`);
  await c.check(page, 'ready');
  await c.shot(page, 'ready');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
  const file = join(work, 'certificate.pdf');
  await download.saveAs(file);
  expect(readFileSync(file).subarray(0, 5).toString() === '%PDF-', 'a PDF');
  await page.click('#finish');
  await page.waitForSelector('#place');

  // The same card, three wrong PINs: locked, nothing issued.
  await page.setViewportSize(PHONE);
  await page.click('#place');
  for (let i = 0; i < 3; i++) {
    await page.waitForSelector('#pin');
    await page.fill('#pin', pin === '9999' ? '8888' : '9999');
    await page.click('#pin-ok');
    await page.waitForLoadState('load');
  }
  await page.waitForSelector('#locked');
  expect((await screen(page)) === 'locked', 'the PIN is locked');
  await c.check(page, 'locked');
  await c.shot(page, 'locked');
  await page.click('#finish');
  await page.waitForSelector('#place');
  console.error(JSON.stringify({ code }));
});
