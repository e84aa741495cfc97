// The citizen portal in a browser: the one-time link logs in, the page shows the basic
// four information and the access log with its chain check, the account form shows an error
// beside its field and then registers, 利用登録 from the page, logout; at 1280 and 390 px.
import { run, expect, DESKTOP, PHONE } from './lib.mjs';

const link = process.env.HANDOFF_URL;

await run('portal', async (browser, c) => {
  const ctx = await browser.newContext({ viewport: DESKTOP, locale: 'ja-JP' });
  const page = await ctx.newPage();
  await page.goto(link);
  await page.waitForSelector('#me');
  expect((await page.textContent('#name')).includes('山田'), 'logged in as the card holder');
  const log = await page.textContent('#access-log');
  expect(log.includes('記録は改ざんされていません'), 'the chain checks');
  expect(log.includes('住民票の基本4情報') && log.includes('市区町村'),
    `the municipality's reading is in the access log, in plain Japanese: ${log}`);
  expect(/\d{4}年\d{1,2}月\d{1,2}日 \d{2}:\d{2}/.test(log) && !log.includes('+09:00'),
    `dates to the minute: ${log}`);
  await c.check(page, 'portal');
  await c.shot(page, 'portal');

  // The account form reports every problem at once, beside its field, in Japanese.
  await page.fill('#bank_code', '01');
  await page.fill('#branch_code', '001');
  await page.selectOption('#account_type', 'ordinary');
  await page.fill('#account_number', '12a');
  await page.fill('#holder_kana', 'スズキ イチロウ');
  await page.click('#account-submit');
  await page.waitForSelector('#bank_code-error');
  expect((await page.textContent('#bank_code-error')).includes('数字4桁'), 'bank code, in Japanese');
  expect((await page.textContent('#account_number-error')).includes('数字7桁'), 'account number');
  expect((await page.textContent('#holder_kana-error')).includes('ご本人名義'), 'holder');
  expect(!(await page.$('#branch_code-error')), 'a good field has no error');
  // A bank code no financial institution has is refused by name.
  await page.fill('#bank_code', '0002');
  await page.fill('#account_number', '1234567');
  await Promise.all([page.waitForNavigation(), page.click('#account-submit')]);
  expect((await page.textContent('#bank_code-error')).includes('金融機関はありません'), 'an unlisted bank code');
  await c.check(page, 'account-errors');
  await c.shotOf(page.locator('#account'), 'account-errors');

  // A holder name that is not the citizen's is refused beside its field.
  await page.fill('#bank_code', '0001');
  await page.fill('#branch_code', '001');
  await page.selectOption('#account_type', 'ordinary');
  await page.fill('#account_number', '1234567');
  await page.fill('#holder_kana', 'スズキ イチロウ');
  await page.click('#account-submit');
  await page.waitForSelector('#holder_kana-error');
  expect((await page.getAttribute('#holder_kana', 'aria-invalid')) === 'true', 'the field is marked');
  expect((await page.inputValue('#bank_code')) === '0001', 'the other fields are kept');
  expect((await page.inputValue('#account_number')) === '', 'the account number is not echoed');
  await c.check(page, 'account-error');
  await c.shotOf(page.locator('#account'), 'account-error');
  await page.fill('#account_number', '1234567');
  await page.fill('#holder_kana', 'ヤマダ タロウ');
  await page.click('#account-submit');
  await page.waitForSelector('#account-now');
  const now = await page.textContent('#account-now');
  expect(now.includes('0001') && !now.includes('1234567'), `registered, number masked: ${now}`);
  expect(now.includes('みずほ') && now.includes('東京営業部'), `the bank and branch by name: ${now}`);
  await c.shot(page, 'account-registered');

  // 利用登録 from the page.
  // A fresh resident is not registered yet: the button must be there.
  expect(await page.$('#register'), 'the 利用登録 button is offered');
  await page.click('#register');
  await page.waitForSelector('#registered');
  expect((await page.textContent('#insurance')).includes('利用登録済み'), 'registered for insurance use');

  // The medication history, as a page of its own, and back.
  await page.click('#history-links a[href="/portal/history/medication"]');
  await page.waitForSelector('#history-title');
  const meds = await page.textContent('#history');
  expect(meds.includes('アムロジピン錠5mg') && meds.includes('霞が関薬局'), `medication: ${meds}`);
  expect((await page.getAttribute('nav a[aria-current="page"]', 'href')) === '/portal/history/medication', 'current kind');
  await c.check(page, 'history-medication');
  await c.shot(page, 'history-medication');
  await page.click('nav a[href="/portal/history/checkup"]');
  await page.waitForSelector('#history-title');
  expect(await page.$('#history-empty'), 'no check-ups: said so');
  await page.setViewportSize(PHONE);
  await c.check(page, 'history-checkup-phone');
  await page.setViewportSize(DESKTOP);
  await page.click('header a');
  await page.waitForSelector('#me');

  // A phone-sized screen.
  await page.setViewportSize(PHONE);
  await page.goto(new URL('/portal', link).toString());
  await c.check(page, 'portal-phone');
  await c.shot(page, 'portal-phone');

  // Logout ends the session.
  await page.click('header button');
  await page.waitForSelector('#login');
  await c.check(page, 'login');
  await c.shot(page, 'logged-out');
  await page.goto(link);
  expect((await page.textContent('body')).includes('ログイン'), 'the link works once');
});
