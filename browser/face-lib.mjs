// Shared by the face tests: the demo faces' sources and a camera-like picture of a person.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const SAMPLES = 'node_modules/@vladmandic/face-api/demo';

// The demo faces' crops (crates/openmyna-cardface/faces/SOURCES.md): the photograph, the
// crop's centre, width, height and turn (degrees). The card carries face-NN (index NN-1) as a
// 300×400 grey JPEG 2000.
export const CROPS = [
  ['sample1.jpg', 483, 516, 378, 504, 2.0],
  ['sample1.jpg', 1543, 356, 409, 545, 42.8],
  ['sample3.jpg', 677, 503, 459, 612, 1.1],
  ['sample3.jpg', 1153, 408, 498, 663, 11.8],
  ['sample3.jpg', 1605, 476, 466, 622, -3.8],
  ['sample5.jpg', 476, 1058, 470, 627, -6.3],
  ['sample5.jpg', 863, 261, 345, 460, 10.9],
  ['sample5.jpg', 1188, 355, 388, 517, -0.7],
  ['sample5.jpg', 1492, 568, 432, 576, -9.8],
  ['sample6.jpg', 375, 668, 434, 578, -6.7],
  ['sample6.jpg', 756, 524, 476, 635, -4.0],
  ['sample6.jpg', 1274, 492, 403, 537, 0.1],
  ['sample6.jpg', 1586, 450, 460, 614, 13.6],
];

export function sampleDataUrl(file) {
  return `data:image/jpeg;base64,${readFileSync(join(SAMPLES, file)).toString('base64')}`;
}

// Runs in the page: a 640×480 canvas, a plain wall and — when `img` is given — the person of
// `crop` in front of it, from the colour photograph: the 3:4 window around the face scaled by
// `scale`, moved by (dx, dy), turned by `turn` degrees beyond level, its light times `light`.
function drawPerson(img, crop, { scale = 1.25, dx = 0, dy = 0, turn = 0, light = 1 } = {}) {
  const W = 640;
  const H = 480;
  const c = document.createElement('canvas');
  c.width = W;
  c.height = H;
  const g = c.getContext('2d', { willReadFrequently: true });
  const wall = g.createLinearGradient(0, 0, 0, H);
  wall.addColorStop(0, '#c9c4bb');
  wall.addColorStop(1, '#9d978d');
  g.fillStyle = wall;
  g.fillRect(0, 0, W, H);
  if (img) {
    const [, cx, cy, cw, ch, angle] = crop;
    const h = H * 0.92;
    const w = h * 0.75;
    g.save();
    g.beginPath();
    g.ellipse(W / 2 + dx, H / 2 + dy + 30, w * 0.5, h * 0.55, 0, 0, 2 * Math.PI);
    g.clip();
    g.filter = `brightness(${light}) contrast(0.92)`;
    g.translate(W / 2 + dx, H / 2 + dy);
    g.rotate(-((angle + turn) * Math.PI) / 180);
    const sh = ch * scale;
    const sw = cw * scale;
    g.drawImage(img, cx - sw / 2, cy - sh / 2, sw, sh, -w / 2, -h / 2, w, h);
    g.restore();
  }
  return c;
}

// Makes `drawPerson` and `loadImage` globals of `page`.
export async function installDraw(page) {
  await page.evaluate(`window.drawPerson = ${drawPerson.toString()};
    window.loadImage = async (src) => { const i = new Image(); i.src = src; await i.decode(); return i; };`);
}
