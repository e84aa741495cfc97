// The kiosk's 顔認証 screen (openmyna terminal --ui … --face-assets DIR): the card's photo
// (JPEG 2000, read from the card by the kiosk at this moment) against the camera, with
// @vladmandic/face-api (SSD MobileNet v1 detector, 68-point landmarks, the dlib ResNet
// 128-d descriptor) on TF.js's WebAssembly backend. Everything stays in this page's memory:
// only the outcome is posted back to the kiosk (match / no_match / no_face / error, the
// number of comparisons and the best distance). See docs/face.md.
import { setup, decodeJp2, describeCard, describeFrame, distance, wipe } from '/face-match.js';

// Comparisons on distinct frames before giving up on a face that does not match.
const MAX_COMPARISONS = 3;
// How long the camera may show no usable face (or too few) before the PIN path takes over.
const NO_FACE_MS = 8000;
// A face smaller than this (pixels of box height in a 640×480 frame) is too far away.
const MIN_FACE_PX = 90;

const root = document.getElementById('face');
const statusLine = document.getElementById('face-status');
const video = document.getElementById('face-video');
const threshold = Number.parseFloat(root.dataset.threshold) || 0.4;
const say = (ja, en) => { statusLine.textContent = document.documentElement.lang === 'en' ? en : ja; };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function finish(outcome, comparisons, best) {
  document.getElementById('face-outcome').value = outcome;
  document.getElementById('face-attempts').value = String(comparisons);
  document.getElementById('face-distance').value = best === null ? '' : best.toFixed(4);
  root.dataset.state = outcome;
  document.getElementById('face-result').submit();
}

// The card's photo, read by the kiosk from the card now; never cached.
async function cardPhoto() {
  const r = await fetch('/face/photo', { cache: 'no-store' });
  if (!r.ok) throw new Error(`the card's photo: HTTP ${r.status}`);
  return decodeJp2(new Uint8Array(await r.arrayBuffer()));
}

// The camera's first frames can be black: wait until a pixel is lit.
async function firstFrame() {
  const probe = document.createElement('canvas');
  probe.width = 64;
  probe.height = 48;
  const g = probe.getContext('2d', { willReadFrequently: true });
  const until = performance.now() + 5000;
  while (performance.now() < until) {
    if (video.readyState >= 2) {
      g.drawImage(video, 0, 0, 64, 48);
      const d = g.getImageData(0, 0, 64, 48).data;
      if (d.some((v, i) => i % 4 !== 3 && v > 0)) return;
    }
    await sleep(50);
  }
}

async function main() {
  await setup();
  const photo = await cardPhoto();
  const reference = await describeCard(photo);
  wipe(photo);
  if (!reference) throw new Error("no face found in the card's photo");

  const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false });
  video.srcObject = stream;
  const stop = () => { for (const t of stream.getTracks()) t.stop(); video.srcObject = null; };
  root.dataset.state = 'camera';
  say('画面の枠に顔が収まるようにしてください', 'Fit your face in the frame');
  await firstFrame();

  let comparisons = 0;
  let best = null;
  const noFaceUntil = performance.now() + NO_FACE_MS;
  try {
    while (comparisons < MAX_COMPARISONS) {
      if (performance.now() > noFaceUntil) {
        finish(comparisons ? 'no_match' : 'no_face', comparisons, best);
        return;
      }
      const live = await describeFrame(video, video.videoWidth || 640, video.videoHeight || 480);
      if (!live || live.height < MIN_FACE_PX) {
        await sleep(150);
        continue;
      }
      comparisons += 1;
      const d = distance(reference.descriptor, live.descriptor);
      best = best === null ? d : Math.min(best, d);
      if (d <= threshold) {
        root.dataset.state = 'matched';
        finish('match', comparisons, best);
        return;
      }
      say('もう一度、枠に顔を合わせてください', 'Once more: fit your face in the frame');
      await sleep(300);
    }
    finish('no_match', comparisons, best);
  } finally {
    stop();
  }
}

main().catch((e) => {
  console.error('face check:', e && e.message ? e.message : e);
  finish('error', 0, null);
});
