// The operator console: login with the operator token (a wrong one is refused), the CA's
// roots, the CRL history, the statistics chart, a resident's certificates suspended,
// released and revoked with a reason, a token issued to an organisation and revoked; at 1280
// and 390 px.
import { run, expect, DESKTOP, PHONE } from './lib.mjs';

const url = process.env.CONSOLE_URL;
const token = process.env.OPERATOR_TOKEN;
const resident = process.env.RESIDENT_ID;

await run('console', async (browser, c) => {
  const page = await browser.newPage({ viewport: DESKTOP, locale: 'ja-JP' });
  await page.goto(url);
  await page.waitForSelector('#token');
  await c.check(page, 'login');
  await c.shot(page, 'login');
  await page.fill('#token', 'omn_not-a-token');
  await page.click('#login-submit');
  await page.waitForSelector('#error');
  expect((await page.textContent('#error')).includes('unknown'), 'a wrong token is refused');
  await page.fill('#token', token);
  await page.click('#login-submit');
  await page.waitForSelector('#ca');
  const ca = await page.textContent('#ca');
  expect(ca.includes('sign') && ca.includes('auth') && ca.includes('/ocsp/'), `the roots: ${ca}`);
  const crls = await page.textContent('#crls');
  expect(crls.includes('full'), `the CRL history: ${crls}`);
  expect(await page.$('#chart svg'), 'the statistics chart');
  expect((await page.getAttribute('#chart svg', 'role')) === 'img', 'the chart is an image with a title');
  await c.check(page, 'console');
  await c.shot(page, 'console');

  // A resident's certificates: suspend, release, revoke with a reason.
  await page.fill('#resident', resident);
  await page.click('#search');
  await page.waitForSelector('#results');
  const rows = await page.$$('#results tr');
  expect(rows.length === 3, `two certificates (and the header), got ${rows.length - 1}`);
  await c.check(page, 'search');
  await c.shot(page, 'search');
  const first = '#results tr:nth-child(2)';
  await page.click(`${first} button:has-text("Suspend")`);
  await page.waitForSelector('#done');
  expect((await page.getAttribute('#results [data-status]', 'data-status')) === 'held', 'suspended');
  await c.shot(page, 'suspended');
  await page.click('#results button:has-text("Release")');
  await page.waitForSelector('#done');
  expect((await page.getAttribute('#results [data-status]', 'data-status')) === 'good', 'released');
  // Revocation asks first: the reason and the final button are behind 失効….
  expect(!(await page.isVisible('#results button:has-text("Revoke for good")')), 'not one click');
  await page.click('#results details.confirm summary');
  expect((await page.textContent('#results details.confirm')).includes('取り消せません'), 'says it is final');
  await c.check(page, 'revoke-confirm');
  await c.shot(page, 'revoke-confirm');
  await page.selectOption('#results select', 'keyCompromise');
  await page.click('#results button:has-text("Revoke for good")');
  await page.waitForSelector('#done');
  const status = await page.textContent('#results [data-status]');
  expect(status.includes('revoked') && status.includes('keyCompromise'), `revoked: ${status}`);
  expect(!(await page.$('#results button')) && !(await page.$('#results details')), 'nothing more to do with a revoked certificate');
  await c.check(page, 'revoked');
  await c.shot(page, 'revoked');

  // By name (in hiragana, spaced as typed) and birth date: the same person's certificates.
  await page.fill('#serial', '');
  await page.fill('#resident', '');
  await page.fill('#name', 'やまだ たろう');
  await page.fill('#birth_date', '1985-06-15');
  await Promise.all([page.waitForURL(/name=/), page.click('#search')]);
  await page.waitForSelector('#results');
  const byName = await page.$$('#results tr');
  expect(byName.length === 3, `found by name and birth date, got ${byName.length - 1}`);
  expect((await page.textContent('#results')).includes(resident), 'the same resident');
  await c.check(page, 'search-by-name');
  await c.shot(page, 'search-by-name');
  // A name without the birth date is refused, with what to add.
  await page.fill('#birth_date', '');
  await Promise.all([page.waitForURL(/birth_date=(&|$)/), page.click('#search')]);
  expect((await page.textContent('body')).includes('birth date'), 'asks for the birth date');

  // Organisations and tokens: a token issued from the page is shown once; revoking asks first.
  await page.goto(url);
  const firstOrg = page.locator('#org-table tr[id^="org-"]').first();
  await firstOrg.locator('details.issue summary').click();
  await firstOrg.locator('input[name="label"]').fill('browser test');
  await Promise.all([page.waitForNavigation(), firstOrg.locator('details.issue button').click()]);
  const issued = await page.inputValue('#issued-token');
  expect(issued.startsWith('omn_'), `the token, shown once: ${issued.slice(0, 4)}…`);
  expect((await page.textContent('#issued')).includes('二度と表示されません'), 'says it is shown once');
  await c.check(page, 'token-issued');
  await c.shotOf(page.locator('#orgs'), 'token-issued');
  const row = page.locator('#org-table li', { hasText: 'browser test' });
  await row.locator('details.confirm summary').click();
  expect((await row.textContent()).includes('直ちに使えなくなります'), 'revoking a token asks first');
  await Promise.all([page.waitForNavigation(), row.locator('button.danger').click()]);
  await page.waitForSelector('#done');
  expect((await page.locator('#org-table li', { hasText: 'browser test' }).textContent()).includes('失効済み'),
    'the token is revoked');
  await c.check(page, 'token-revoked');

  await page.setViewportSize(PHONE);
  await page.goto(`${url}?resident=${resident}`);
  await c.check(page, 'console-phone');
  await c.shot(page, 'console-phone');

  await page.click('header button');
  await page.waitForSelector('#token');
  await c.shot(page, 'logged-out');
});
