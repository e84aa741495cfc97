// The clinic kiosk (openmyna terminal --ui): the four steps of the leaflet with a virtual
// card — the PIN path (typed, and on the number pad with 訂正), a wrong PIN with the tries
// left, consent yes and no, 戻る and 取消 — the reception's
// screen, the English switch, at 1280×800 and at a phone's 390 px.
import { run, expect, DESKTOP, PHONE } from './lib.mjs';

const url = process.env.KIOSK_URL;
const pin = process.env.CARD_PIN || '1234';

async function screen(page) {
  return page.getAttribute('#screen', 'data-screen');
}

await run('kiosk', async (browser, c) => {
  const page = await browser.newPage({ viewport: DESKTOP, locale: 'ja-JP' });
  await page.goto(url);
  expect((await screen(page)) === 'place', 'starts at step 1');
  expect((await page.textContent('h2')).includes('カードを置いてください'), 'Japanese by default');
  await c.check(page, 'place');
  await c.shot(page, 'place-card');

  // Keyboard: the button is reachable and pressed with Enter.
  await page.focus('#place');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#use-pin');
  expect((await screen(page)) === 'identity', 'step 2 after the card');
  await c.check(page, 'identity');
  await c.shot(page, 'identity');
  await page.click('#face');
  expect((await page.textContent('[role=alert]')).includes('カメラ'), 'face explains it needs a camera');
  await page.click('#use-pin');
  await page.waitForSelector('#pin');
  await c.check(page, 'pin');
  await c.shot(page, 'pin');

  // A wrong PIN: the tries left are shown.
  await page.fill('#pin', pin === '9999' ? '8888' : '9999');
  await page.click('#pin-ok');
  await page.waitForSelector('#pin-error');
  const left = (await page.textContent('#tries-left')).trim();
  expect(left === '2', `two tries left after one wrong PIN, got ${left}`);
  await c.check(page, 'wrong-pin');
  await c.shot(page, 'wrong-pin');

  // The right PIN on the on-screen number pad, with a slip corrected by 訂正.
  expect((await page.textContent('#pin-dots')).trim() === '○○○○', 'no digit shown yet');
  await page.click(`#key-${pin[0]}`);
  await page.click('#key-7');
  await page.click('#key-correct');
  for (const d of pin.slice(1)) await page.click(`#key-${d}`);
  expect((await page.textContent('#pin-dots')).trim() === '●●●●', 'four digits, as circles');
  expect(!(await page.content()).includes(pin + '<'), 'the digits are not in the page');
  await c.check(page, 'pin-pad');
  await c.shot(page, 'pin-pad');
  await page.click('#pin-ok');
  await page.waitForSelector('#consent-title');
  // 戻る on the second consent screen asks the first again.
  await page.click('#consent-yes');
  await page.waitForSelector('#back');
  await page.click('#back');
  expect((await page.getAttribute('#consent-title', 'data-category')) === 'clinical', '戻る');
  const seen = [];
  while ((await screen(page)) === 'consent') {
    const category = await page.getAttribute('#consent-title', 'data-category');
    seen.push(category);
    await c.check(page, `consent-${category}`);
    await c.shot(page, `consent-${category}`);
    // Share treatment/medication records and the limit; not surgery or check-ups.
    const yes = category === 'clinical' || category === 'limit_amount';
    await page.click(yes ? '#consent-yes' : '#consent-no');
    await page.waitForLoadState('load');
  }
  expect(seen[0] === 'clinical', `the first consent screen is 診療・薬剤情報, got ${seen}`);
  expect(seen.includes('checkup'), `特定健診 is offered at 40: ${seen}`);
  expect(seen.includes('limit_amount'), `限度額 is offered: ${seen}`);
  expect((await screen(page)) === 'done', 'step 4');
  expect((await page.textContent('#forget')).includes('カードを忘れずに'), 'カードを忘れずに!');
  await c.check(page, 'done');
  await c.shot(page, 'done');

  // The reception's screen.
  const staff = await browser.newPage({ viewport: DESKTOP });
  await staff.goto(`${url}/staff`);
  const table = await staff.textContent('#result');
  expect(table.includes('山田') && table.includes('01130012'), `the staff see the result: ${table}`);
  const consents = await staff.textContent('#consents');
  expect(consents.includes('clinical') && consents.includes('提供する'), 'the staff see the choices');
  expect(table.includes('有効') && table.includes('valid'), 'the staff see the validity in words');
  expect(table.includes('3割'), `the co-payment in words: ${table}`);
  expect((await staff.textContent('body')).includes('limit_amount'), 'limit consent open');
  // …and the records the patient agreed to share: the medication, the limit category.
  const records = await staff.textContent('#records');
  expect(records.includes('アムロジピン錠5mg') && records.includes('薬剤'), `records: ${records}`);
  expect((await staff.textContent('#limit')).includes('A03'), 'the limit category');
  await c.check(staff, 'staff');
  await c.shot(staff, 'staff');

  // Next patient, in English, on a phone-sized screen: everyone says no.
  await page.click('#next');
  await page.goto(`${url}/lang/en`);
  await page.setViewportSize(PHONE);
  expect((await page.textContent('h2')).includes('Place your card'), 'English');
  await c.check(page, 'place-en-phone');
  await c.shot(page, 'place-en-phone');
  await page.click('#place');
  // 戻る from the PIN screen, and 取消 from the choice of method, back to the start.
  await page.click('#use-pin');
  await page.click('#back');
  expect((await screen(page)) === 'identity', '戻る from the PIN screen');
  await page.click('#cancel');
  expect((await screen(page)) === 'place', '取消 starts again');
  expect((await page.textContent('h2')).includes('Place your card'), '…in the language chosen');
  await page.click('#place');
  await page.click('#use-pin');
  await c.check(page, 'pin-en-phone');
  await c.shot(page, 'pin-en-phone');
  await page.fill('#pin', pin);
  await page.click('#pin-ok');
  await page.waitForSelector('#consent-title');
  await c.check(page, 'consent-en-phone');
  await c.shot(page, 'consent-en-phone');
  while ((await screen(page)) === 'consent') {
    await page.click('#consent-no');
    await page.waitForLoadState('load');
  }
  expect((await page.textContent('#forget')).includes("Don't forget your card"), 'done in English');
  await c.check(page, 'done-en-phone');
  await c.shot(page, 'done-en-phone');

  // The next patient starts in Japanese again (a language is chosen per patient).
  await page.click('#next');
  expect((await page.textContent('h2')).includes('カードを置いてください'), 'Japanese for the next patient');

  // Wrong PINs until the card locks: the patient is sent to the municipality, in Japanese,
  // and the reception's screen says so.
  await page.click('#place');
  await page.click('#use-pin');
  for (let i = 0; i < 3 && (await screen(page)) === 'pin'; i++) {
    await page.fill('#pin', '0000');
    await page.click('#pin-ok');
    await page.waitForLoadState('load');
  }
  expect((await screen(page)) === 'locked', `locked after the last try, got ${await screen(page)}`);
  expect((await page.textContent('#locked')).includes('市区町村の窓口'), 'sent to the municipality');
  await c.check(page, 'locked');
  await c.shot(page, 'locked');
  await staff.reload();
  expect((await staff.textContent('#locked')).includes('暗証番号ロック'), 'the staff see the lock-out');
  await c.shot(staff, 'staff-locked');
});
