// The campaign pages for an employer's staff: login with the organisation's token (a wrong
// one refused), the dashboard per division with withheld groups in words, the charts, the
// running campaign; another day chosen from the page; logout; at 1280 and 390 px.
import { run, expect, DESKTOP, PHONE } from './lib.mjs';

const url = process.env.CAMPAIGNS_URL;
const token = process.env.EMPLOYER_TOKEN;

await run('campaigns', async (browser, c) => {
  for (const [viewport, tag] of [[DESKTOP, 'desktop'], [PHONE, 'phone']]) {
    const page = await browser.newPage({ viewport, locale: 'ja-JP' });
    await page.goto(url);
    await page.waitForSelector('#token');
    await c.check(page, `login-${tag}`);
    if (tag === 'desktop') {
      await page.fill('#token', 'omn_not-a-token');
      await page.click('#login-submit');
      await page.waitForSelector('#error');
      expect((await page.textContent('#error')).includes('unknown'), 'a wrong token is refused');
    }
    await page.fill('#token', token);
    // Keyboard: Enter in the field submits.
    await Promise.all([page.waitForNavigation(), page.press('#token', 'Enter')]);
    await page.waitForSelector('#figures');
    const table = await page.textContent('#figures-table');
    expect(table.includes('全体') && table.includes('本部'), `the divisions: ${table}`);
    expect(/\d+\.\d%/.test(table), `rates in per cent: ${table}`);
    for (const img of await page.$$('figure img')) {
      expect(await img.evaluate((i) => i.complete && i.naturalWidth > 0), 'each chart is drawn');
      expect((await img.getAttribute('alt')).length > 10, 'each chart says what it shows');
    }
    expect(await page.$('#trend img'), 'the monthly trend');
    const campaigns = await page.textContent('#campaigns');
    expect(campaigns.includes('目標'), `the running campaign: ${campaigns}`);
    await c.check(page, `dashboard-${tag}`);
    await c.shot(page, `dashboard-${tag}`);
    if (tag === 'desktop') {
      // Another day from the page's form.
      const day = await page.inputValue('#as_of');
      const d = new Date(`${day}T00:00:00Z`);
      d.setUTCMonth(d.getUTCMonth() - 1);
      const earlier = d.toISOString().slice(0, 10);
      await page.fill('#as_of', earlier);
      await Promise.all([page.waitForURL(`**/campaigns?as_of=${earlier}`), page.click('#as-of-submit')]);
      expect((await page.textContent('#summary')).includes(`${earlier} 現在`), 'the chosen day');
      await c.check(page, 'earlier');
    }
    await Promise.all([page.waitForNavigation(), page.click('header button')]);
    await page.waitForSelector('#token');
    await page.close();
  }
});
