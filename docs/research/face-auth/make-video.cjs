// Usage: node make-video.cjs in.jpg out-basename [W H] [cropx cropy cropw croph]
// Writes out.y4m (1 frame, I420, 30fps) and out.mjpeg (single JPEG) and out.jpg, letterboxed to WxH.
const fs = require('fs'), jpeg = require('jpeg-js');
const [,, inp, out, W = 640, H = 480, cx, cy, cw, ch] = process.argv;
const w = +W, h = +H;
const src = jpeg.decode(fs.readFileSync(inp), { useTArray: true, formatAsRGBA: false, maxMemoryUsageInMB: 1024 });
const c = cx === undefined ? [0, 0, src.width, src.height] : [+cx, +cy, +cw, +ch];
const s = Math.min(w / c[2], h / c[3]);             // fit crop into WxH
const ox = (w - c[2] * s) / 2, oy = (h - c[3] * s) / 2;
const rgb = new Uint8Array(w * h * 3).fill(128);
for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
  const sx = Math.floor(c[0] + (x - ox) / s), sy = Math.floor(c[1] + (y - oy) / s);
  if (x < ox || y < oy || sx >= c[0] + c[2] || sy >= c[1] + c[3] || sx >= src.width || sy >= src.height) continue;
  const si = (sy * src.width + sx) * 3, di = (y * w + x) * 3;
  rgb[di] = src.data[si]; rgb[di + 1] = src.data[si + 1]; rgb[di + 2] = src.data[si + 2];
}
// RGB -> I420 (BT.601 limited range)
const Y = Buffer.alloc(w * h), U = Buffer.alloc(w * h / 4), V = Buffer.alloc(w * h / 4);
const clamp = v => v < 0 ? 0 : v > 255 ? 255 : Math.round(v);
for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
  const i = (y * w + x) * 3, r = rgb[i], g = rgb[i + 1], b = rgb[i + 2];
  Y[y * w + x] = clamp(16 + 0.257 * r + 0.504 * g + 0.098 * b);
}
for (let y = 0; y < h / 2; y++) for (let x = 0; x < w / 2; x++) {
  let r = 0, g = 0, b = 0;
  for (const [dx, dy] of [[0,0],[1,0],[0,1],[1,1]]) { const i = ((2*y+dy) * w + 2*x+dx) * 3; r += rgb[i]; g += rgb[i+1]; b += rgb[i+2]; }
  r /= 4; g /= 4; b /= 4;
  U[y * w / 2 + x] = clamp(128 - 0.148 * r - 0.291 * g + 0.439 * b);
  V[y * w / 2 + x] = clamp(128 + 0.439 * r - 0.368 * g - 0.071 * b);
}
fs.writeFileSync(out + '.y4m', Buffer.concat([Buffer.from(`YUV4MPEG2 W${w} H${h} F30:1 Ip A1:1 C420jpeg\nFRAME\n`), Y, U, V]));
const rgba = Buffer.alloc(w * h * 4); for (let i = 0; i < w * h; i++) { rgba[4*i] = rgb[3*i]; rgba[4*i+1] = rgb[3*i+1]; rgba[4*i+2] = rgb[3*i+2]; rgba[4*i+3] = 255; }
const j = jpeg.encode({ data: rgba, width: w, height: h }, 90).data;
fs.writeFileSync(out + '.mjpeg', j); fs.writeFileSync(out + '.jpg', j);
console.log(`wrote ${out}.y4m (${w}x${h}, ${fs.statSync(out + '.y4m').size} bytes), ${out}.mjpeg/.jpg (${j.length} bytes)`);
