// node run-browser.mjs media/cam-genuine.y4m [backend]
import http from 'node:http'; import fs from 'node:fs'; import path from 'node:path';
import { chromium } from 'playwright-core';
const root = path.resolve('.');
const map = { '/face-api/': 'node_modules/@vladmandic/face-api/', '/tfjs-wasm/': 'node_modules/@tensorflow/tfjs-backend-wasm/dist/', '/media/': 'media/', '/opj/': 'j2k/node_modules/@cornerstonejs/codec-openjpeg/dist/', '/': 'www/' };
const types = { '.js': 'text/javascript', '.html': 'text/html', '.json': 'application/json', '.wasm': 'application/wasm', '.jpg': 'image/jpeg' };
const srv = http.createServer((req, res) => {
  const u = decodeURIComponent(new URL(req.url, 'http://x').pathname);
  const pre = Object.keys(map).find(p => u.startsWith(p));
  let f = path.join(root, map[pre], u.slice(pre.length)); if (u === '/') f = path.join(root, 'www/index.html');
  fs.readFile(f, (e, d) => { if (e) { res.writeHead(404); return res.end(); } res.writeHead(200, { 'content-type': types[path.extname(f)] || 'application/octet-stream' }); res.end(d); });
}).listen(0, '127.0.0.1');
await new Promise(r => srv.on('listening', r));
const [video, backend] = process.argv.slice(2);
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
  '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-video-capture=${path.resolve(video)}`] });
const page = await browser.newPage();
page.on('console', m => console.log('console:', m.text().slice(0, 200)));
await page.goto(`http://127.0.0.1:${srv.address().port}/${process.env.PAGE || ''}`);
await page.waitForFunction(() => window.ready);
const t0 = Date.now();
const r = await page.evaluate(b => window.run(b), backend || null);
console.log(JSON.stringify({ video, ...r, totalMs: Date.now() - t0 }));
await page.screenshot({ path: `shot-${path.basename(video)}.png` });
await browser.close(); srv.close();
