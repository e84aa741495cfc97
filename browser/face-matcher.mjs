// The kiosk's face matcher (/face-match.js, the code the face screen runs) on the face-api
// package's sample photographs, in headless Chromium:
//  - references: the 13 demo card photos made from them (300×400 grey JPEG 2000, as the
//    card stores them; crates/openmyna-cardface/faces);
//  - probes: camera-like 640×480 pictures of each person, drawn from the original colour
//    photograph with several framings, turns and lights (face-lib.mjs);
//  - genuine pairs: each probe against its own card photo; impostor pairs: each probe against
//    every other card photo, and every pair of card photos.
// Prints the distances' summary, the false-accept and false-reject rates at several thresholds
// and the time per descriptor. Env: KIOSK_URL (a kiosk with --face-assets), FACES_DIR.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { launch } from './lib.mjs';
import { CROPS, installDraw, sampleDataUrl } from './face-lib.mjs';

const url = process.env.KIOSK_URL;
const facesDir = process.env.FACES_DIR;
const THRESHOLDS = [0.4, 0.45, 0.5, 0.55, 0.6];
// Framings of the probes: scale of the window around the face (larger: the face smaller),
// offset, head turn beyond level (degrees), light.
const VARIANTS = [
  { scale: 1.1, dx: 0, dy: 0, turn: 0, light: 1.0 },
  { scale: 1.3, dx: 30, dy: -10, turn: 5, light: 1.25 },
  { scale: 1.2, dx: -25, dy: 15, turn: -5, light: 0.8 },
  { scale: 1.45, dx: 10, dy: 20, turn: 8, light: 1.1 },
];

const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { n: s.length, min: s[0], median: q(0.5), p95: q(0.95), max: s[s.length - 1] };
};
const round = (o) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, typeof v === 'number' ? Math.round(v * 1000) / 1000 : v]));

const browser = await launch();
try {
  const page = await browser.newPage();
  // The kiosk's origin, for its /face-assets/ and /face-match.js.
  await page.goto(url);
  await page.addScriptTag({ url: '/face-assets/@cornerstonejs/codec-openjpeg/dist/openjpegwasm_decode.js' });
  await installDraw(page);
  const cards = CROPS.map((_, i) => readFileSync(join(facesDir, `face-${String(i + 1).padStart(2, '0')}.jp2`)).toString('base64'));
  const photos = [...new Set(CROPS.map((c) => c[0]))];
  const sources = Object.fromEntries(photos.map((p) => [p, sampleDataUrl(p)]));
  const r = await page.evaluate(async ({ cards, sources, crops, variants }) => {
    const m = await import('/face-match.js');
    const t0 = performance.now();
    await m.setup();
    const setupMs = performance.now() - t0;
    const refs = [];
    for (const b64 of cards) {
      const bytes = Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
      const canvas = await m.decodeJp2(bytes);
      refs.push(await m.describeCard(canvas));
    }
    const images = {};
    for (const [name, src] of Object.entries(sources)) images[name] = await window.loadImage(src);
    const probes = [];
    const times = [];
    for (let i = 0; i < crops.length; i++) {
      for (const v of variants) {
        const frame = window.drawPerson(images[crops[i][0]], crops[i], v);
        const t = performance.now();
        const d = await m.describeFrame(frame, 640, 480);
        times.push(performance.now() - t);
        probes.push({ person: i, found: !!d, d });
      }
    }
    const genuine = [];
    const impostor = [];
    const cardPairs = [];
    let missed = 0;
    for (const p of probes) {
      if (!p.found) { missed += 1; continue; }
      refs.forEach((ref, j) => {
        if (!ref) return;
        const x = m.distance(ref.descriptor, p.d.descriptor);
        (j === p.person ? genuine : impostor).push(x);
      });
    }
    for (let i = 0; i < refs.length; i++) {
      for (let j = i + 1; j < refs.length; j++) {
        if (refs[i] && refs[j]) cardPairs.push(m.distance(refs[i].descriptor, refs[j].descriptor));
      }
    }
    return { setupMs, refsFound: refs.filter(Boolean).length, refsMissing: refs.map((x, i) => (x ? null : i)).filter((x) => x !== null), probeMisses: probes.map((p, k) => (p.found ? null : `${p.person}:${k % variants.length}`)).filter(Boolean), missed, probes: probes.length, genuine, impostor, cardPairs, times };
  }, { cards, sources, crops: CROPS, variants: VARIANTS });

  const impostorAll = [...r.impostor, ...r.cardPairs];
  const rates = THRESHOLDS.map((t) => ({
    threshold: t,
    // A probe whose face was not found is rejected (the PIN path).
    false_reject: (r.genuine.filter((x) => x > t).length + r.missed) / (r.genuine.length + r.missed),
    false_accept: impostorAll.filter((x) => x <= t).length / impostorAll.length,
  })).map(round);
  console.log(JSON.stringify({
    ok: true,
    test: 'face-matcher',
    card_photos_with_a_face: r.refsFound,
    card_photos_without: r.refsMissing,
    probe_misses: r.probeMisses,
    probes: r.probes,
    probes_without_a_face: r.missed,
    genuine: round(stats(r.genuine)),
    impostor: round(stats(impostorAll)),
    impostor_pairs: impostorAll.length,
    rates,
    setup_ms: Math.round(r.setupMs),
    descriptor_ms: round(stats(r.times)),
  }));
} catch (e) {
  console.log(JSON.stringify({ ok: false, test: 'face-matcher', error: String(e && e.stack || e) }));
  process.exitCode = 1;
} finally {
  await browser.close();
}
