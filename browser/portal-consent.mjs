// Withdrawing a consent from the portal: the row's 撤回 opens a confirmation that says to whom
// and what; only its button withdraws, and the row then says 撤回済み or disappears.
import { run, expect, DESKTOP, PHONE } from './lib.mjs';

const link = process.env.HANDOFF_URL;

await run('portal-consent', async (browser, c) => {
  const ctx = await browser.newContext({ viewport: DESKTOP, locale: 'ja-JP' });
  const page = await ctx.newPage();
  await page.goto(link);
  await page.waitForSelector('#me');
  const before = await page.textContent('#consents');
  expect(before.includes('診療・薬剤情報'), `the clinic's consent is listed: ${before}`);

  // The first click only asks.
  const confirm = page.locator('#consents details.confirm').first();
  await confirm.locator('summary').click();
  const question = await confirm.locator('p').textContent();
  expect(question.includes('撤回します') && question.includes('診療・薬剤情報'), `asks first: ${question}`);
  await c.check(page, 'withdraw-confirm');
  await c.shotOf(page.locator('#consents'), 'withdraw-confirm');

  // Keyboard: the confirmation's button is reached with Tab and pressed with Enter.
  await confirm.locator('button').focus();
  await page.keyboard.press('Enter');
  await page.waitForSelector('#me');
  const after = await page.textContent('#consents');
  expect(!after.includes('まで閲覧可'), `the consent is closed: ${after}`);
  await c.check(page, 'withdrawn');
  await c.shotOf(page.locator('#consents'), 'withdrawn');

  await page.setViewportSize(PHONE);
  await c.check(page, 'withdrawn-phone');
});
