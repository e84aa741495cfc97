// Logging in to a business with the card over OpenID Connect, in the browser: the service
// sends the browser to the authorisation endpoint; without a portal session the consent page
// is the portal's login (このブラウザでログイン); a phone logged in to the portal approves the
// code; the browser comes back to the consent page by itself, which names the service and
// each item asked for; the holder unticks one and consents; the browser lands on the
// service's redirect URI with the code and the state. The callback URL is written to
// CALLBACK_FILE for the relying party's client (Authlib) to redeem.
import { writeFileSync } from 'node:fs';
import { run, expect, DESKTOP, PHONE } from './lib.mjs';

const base = process.env.BASE_URL;
const authUrl = process.env.AUTH_URL;
const link = process.env.HANDOFF_URL;
const callbackFile = process.env.CALLBACK_FILE;

await run('oidc', async (browser, c) => {
  const pc = await (await browser.newContext({ viewport: DESKTOP, locale: 'ja-JP' })).newPage();
  await pc.goto(authUrl);
  // The authorisation endpoint hands over to the consent page, which asks for the card login.
  await pc.waitForURL('**/portal/oidc/consent?req=*');
  await pc.waitForSelector('#pair-start');
  await c.check(pc, 'login');
  await c.shot(pc, 'login');
  await Promise.all([pc.waitForURL('**/portal/pair'), pc.click('#pair-start')]);
  await pc.waitForSelector('#pair-code');
  const code = (await pc.textContent('#pair-code')).trim();

  // The phone, logged in with the card, approves the code.
  const phone = await (await browser.newContext({ viewport: PHONE, locale: 'ja-JP' })).newPage();
  await phone.goto(link);
  await phone.waitForSelector('#me');
  await phone.goto(`${base}/portal/approve?code=${encodeURIComponent(code)}`);
  await Promise.all([phone.waitForNavigation(), phone.click('#approve-button')]);

  // Back to the consent page by itself: the service and the items.
  await pc.waitForSelector('#consent', { timeout: 20000 });
  const text = await pc.textContent('#consent');
  expect(text.includes('テスト銀行 口座開設'), `names the service: ${text}`);
  for (const item of ['氏名', '住所', '生年月日', '性別']) {
    expect(text.includes(item), `asks for ${item}`);
  }
  await c.check(pc, 'consent');
  await c.shot(pc, 'consent');
  // The holder keeps gender to themselves.
  await pc.uncheck('#grant-gender');
  await Promise.all([pc.waitForURL('**/oidc-callback?*'), pc.click('#approve')]);
  const landed = pc.url();
  expect(landed.includes('code=') && landed.includes('state='), `code and state: ${landed}`);
  writeFileSync(callbackFile, landed);
});
