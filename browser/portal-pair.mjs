// The portal's login from the browser itself (「このブラウザでログイン」), as マイナポータル pairs
// a computer with the phone that reads the card: the computer's page shows a login code and
// its QR code; a phone logged in to the portal opens the QR code's address and approves; the
// computer's page, which checks by itself, opens the portal. A used login link says so.
import { run, expect, DESKTOP, PHONE } from './lib.mjs';

const base = process.env.BASE_URL;
const link = process.env.HANDOFF_URL;

await run('portal-pair', async (browser, c) => {
  // The computer: the login page offers the browser's own login.
  const pc = await (await browser.newContext({ viewport: DESKTOP, locale: 'ja-JP' })).newPage();
  await pc.goto(`${base}/portal`);
  await c.check(pc, 'login');
  await Promise.all([pc.waitForURL('**/portal/pair'), pc.click('#pair-start')]);
  await pc.waitForSelector('#pair-code');
  const code = (await pc.textContent('#pair-code')).trim();
  expect(/^[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}$/.test(code), `a code to read out: ${code}`);
  const qr = await pc.locator('#pair-qr');
  expect((await qr.evaluate((img) => img.complete && img.naturalWidth > 0)), 'the QR code is drawn');
  expect((await pc.textContent('#pairing')).includes(`--code ${code}`), 'the command to approve it');
  await c.check(pc, 'pair-code');
  await c.shot(pc, 'pair-code');

  // The phone: logged in already; the QR code's address shows the code and asks first.
  const phone = await (await browser.newContext({ viewport: PHONE, locale: 'ja-JP' })).newPage();
  await phone.goto(link);
  await phone.waitForSelector('#me');
  await phone.goto(`${base}/portal/approve?code=${encodeURIComponent(code)}`);
  expect((await phone.textContent('#approve-code')).trim() === code, 'the code to approve');
  expect((await phone.textContent('#requester')).includes('HeadlessChrome'), 'names the browser before approving');
  expect((await phone.textContent('#approve')).includes('ご自分で表示したコードでなければ承認しないでください'),
    'warns against approving a code someone sent');
  await c.check(phone, 'approve');
  await c.shot(phone, 'approve');
  // Keyboard: Tab to the button, Enter.
  await phone.locator('#approve-button').focus();
  await Promise.all([phone.waitForNavigation(), phone.keyboard.press('Enter')]);
  const said = await phone.textContent('#approve-message');
  expect(said.includes('承認しました') && said.includes('HeadlessChrome'), `approved, naming the browser: ${said}`);
  await c.check(phone, 'approved');
  await c.shot(phone, 'approved');

  // The computer's page opens the portal by itself (it checks every 3 seconds).
  await pc.waitForSelector('#me', { timeout: 20000 });
  expect((await pc.textContent('#name')).includes('山田'), 'the computer is logged in as the card holder');
  await c.shot(pc, 'pc-logged-in');

  // The phone's login link was used: following it again says so.
  const other = await (await browser.newContext({ viewport: PHONE, locale: 'ja-JP' })).newPage();
  await other.goto(link);
  const text = await other.textContent('#login');
  expect(text.includes('used already'), `a used link says so: ${text}`);
  await c.check(other, 'link-used');
  await c.shot(other, 'link-used');

  // A used code: the approval page says no browser waits with it, and offers no button.
  await phone.goto(`${base}/portal/approve?code=${encodeURIComponent(code)}`);
  expect((await phone.textContent('#approve-message')).includes('No browser is waiting'), 'a used code says so');
  expect(!(await phone.$('#approve-button')), 'nothing to approve');
  await c.check(phone, 'approve-used');
});
