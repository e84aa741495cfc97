// The kiosk's 顔認証 (openmyna terminal --ui … --face-assets) in headless Chromium with a fake
// camera: a still picture turned into a one-frame Y4M file that Chromium loops as the camera
// (--use-file-for-fake-video-capture). Three patients with the same card:
//  - the holder: the same person as the card's photo, from the original colour photograph,
//    moved, scaled, turned and relit → matched, verified with `face`, the staff screen says 顔認証;
//  - another person (a face from another photograph) → refused, the PIN screen says
//    「暗証番号で本人確認してください」;
//  - nobody in front of the camera → the PIN screen.
// Each browser runs with its own profile directory under WORK_DIR, which the Rust test scans
// afterwards for the card's photo.
//
// Env: KIOSK_URL, FACE (the index of the card's demo face, 0..12), WORK_DIR.
import { chromium } from 'playwright-core';
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Checker, expect, launch, DESKTOP } from './lib.mjs';
import { CROPS, installDraw, sampleDataUrl } from './face-lib.mjs';

const url = process.env.KIOSK_URL;
const face = Number(process.env.FACE);
const work = process.env.WORK_DIR;

// A 640×480 camera picture (I420) drawn in a page: the person in front of a plain wall, or
// the wall alone.
async function cameraFrame(browser, crop, opts) {
  const page = await browser.newPage();
  await page.setContent('<!doctype html><title>frame</title>');
  await installDraw(page);
  const dataUrl = crop ? sampleDataUrl(crop[0]) : null;
  const yuv = await page.evaluate(async ({ dataUrl, crop, opts }) => {
    const W = 640;
    const H = 480;
    const img = dataUrl ? await window.loadImage(dataUrl) : null;
    const d = window.drawPerson(img, crop, opts).getContext('2d').getImageData(0, 0, W, H).data;
    const out = new Uint8Array(W * H * 1.5);
    const U = W * H;
    const V = U + (W / 2) * (H / 2);
    const clamp = (v) => Math.max(0, Math.min(255, Math.round(v)));
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const i = 4 * (y * W + x);
        out[y * W + x] = clamp(0.299 * d[i] + 0.587 * d[i + 1] + 0.114 * d[i + 2]);
      }
    }
    for (let y = 0; y < H / 2; y++) {
      for (let x = 0; x < W / 2; x++) {
        let r = 0;
        let g = 0;
        let b = 0;
        for (const [ox, oy] of [[0, 0], [1, 0], [0, 1], [1, 1]]) {
          const i = 4 * ((2 * y + oy) * W + 2 * x + ox);
          r += d[i] / 4; g += d[i + 1] / 4; b += d[i + 2] / 4;
        }
        out[U + y * (W / 2) + x] = clamp(128 - 0.168736 * r - 0.331264 * g + 0.5 * b);
        out[V + y * (W / 2) + x] = clamp(128 + 0.5 * r - 0.418688 * g - 0.081312 * b);
      }
    }
    let s = '';
    for (let i = 0; i < out.length; i += 0x8000) s += String.fromCharCode(...out.subarray(i, i + 0x8000));
    return btoa(s);
  }, { dataUrl, crop, opts: opts || {} });
  await page.close();
  return Buffer.from(yuv, 'base64');
}

function y4m(file, frame) {
  writeFileSync(file, Buffer.concat([Buffer.from('YUV4MPEG2 W640 H480 F30:1 Ip A1:1 C420jpeg\nFRAME\n'), frame]));
}

const c = new Checker('kiosk-face');
const outcomes = [];

async function screen(page) {
  return page.getAttribute('#screen', 'data-screen');
}

// One patient in front of the camera `video`: place the card, choose 顔認証, and wait for the
// kiosk's next screen. Returns what the face screen posted and the screen reached.
async function patient(name, video) {
  const profile = join(work, `profile-${name}`);
  mkdirSync(profile, { recursive: true });
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
      '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
      `--use-file-for-fake-video-capture=${video}`],
    headless: true,
    viewport: DESKTOP,
    locale: 'ja-JP',
  });
  try {
    const page = context.pages()[0] || await context.newPage();
    let posted = null;
    page.on('request', (r) => {
      if (r.url().endsWith('/face/result') && r.method() === 'POST') posted = Object.fromEntries(new URLSearchParams(r.postData() || ''));
    });
    await page.goto(url);
    await page.click('#place');
    await page.waitForSelector('#face');
    const started = Date.now();
    await page.click('#face');
    await page.waitForSelector('#face-video');
    expect((await page.textContent('#face-guide')).includes('画面の枠に顔が収まるようにすると自動的に撮影されます'), 'the frame guide of the leaflet');
    await c.check(page, `face-${name}`);
    // The holder is matched at once; the others' screens are shown with the camera on.
    if (name !== 'holder') await page.waitForSelector('#face[data-state="camera"]', { timeout: 60000 });
    await c.shot(page, `face-${name}`);
    await page.waitForFunction(() => document.querySelector('#screen')?.dataset.screen !== 'face', null, { timeout: 90000 });
    await page.waitForLoadState('load');
    const ms = Date.now() - started;
    const reached = await screen(page);
    outcomes.push({ patient: name, reached, ms, ...(posted || {}) });
    return { page, context, posted, reached };
  } catch (e) {
    await context.close();
    throw e;
  }
}

async function main() {
  const browser = await launch();
  const other = face === 4 ? 9 : 4;
  try {
    y4m(join(work, 'holder.y4m'), await cameraFrame(browser, CROPS[face], { scale: 1.25, dx: 24, dy: 12, turn: 4, light: 1.2 }));
    y4m(join(work, 'other.y4m'), await cameraFrame(browser, CROPS[other], { scale: 1.25, dx: 0, dy: 0, turn: 0, light: 1.0 }));
    y4m(join(work, 'nobody.y4m'), await cameraFrame(browser, null, {}));
  } finally {
    await browser.close();
  }

  // The holder: matched, verified with `face`.
  {
    const { page, context, posted, reached } = await patient('holder', join(work, 'holder.y4m'));
    try {
      expect(posted && posted.outcome === 'match', `the holder's face matched: ${JSON.stringify(posted)}`);
      expect(reached === 'consent' || reached === 'done', `the verification went on after the face: ${reached}`);
      await c.shot(page, 'holder-verified');
      while ((await screen(page)) === 'consent') {
        await page.click('#consent-no');
        await page.waitForLoadState('load');
      }
      const staff = await context.newPage();
      await staff.goto(`${url}/staff`);
      const table = await staff.textContent('#result');
      expect(table.includes('顔認証'), `the staff screen shows the method: ${table}`);
      await c.check(staff, 'staff-face');
      await c.shot(staff, 'staff-face');
      await page.click('#next');
      await page.waitForSelector('#place');
    } finally {
      await context.close();
    }
  }

  // Another person, then nobody: the PIN screen, which says to use the PIN.
  for (const name of ['other', 'nobody']) {
    const { page, context, posted, reached } = await patient(name, join(work, `${name}.y4m`));
    try {
      const want = name === 'other' ? 'no_match' : 'no_face';
      expect(posted && posted.outcome === want, `${name}: ${want} expected, got ${JSON.stringify(posted)}`);
      expect(reached === 'pin', `${name}: the PIN screen takes over, got ${reached}`);
      expect((await page.textContent('#face-failed')).includes('暗証番号で本人確認してください'), `${name}: told to use the PIN`);
      await c.check(page, `pin-after-${name}`);
      await c.shot(page, `pin-after-${name}`);
      await page.click('#cancel');
      await page.waitForSelector('#place');
    } finally {
      await context.close();
    }
  }
}

try {
  await main();
  console.log(JSON.stringify({ ok: true, test: 'kiosk-face', screenshots: c.dir, checked: c.checked, outcomes }));
} catch (e) {
  console.log(JSON.stringify({ ok: false, test: 'kiosk-face', screenshots: c.dir, outcomes, error: String(e && e.stack || e) }));
  process.exitCode = 1;
}
