const fs = require('fs');
const path = require('path');
const jpeg = require('jpeg-js');
const tf = require('@tensorflow/tfjs');
const wasm = require('@tensorflow/tfjs-backend-wasm');
const faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js');
const pkg = path.dirname(require.resolve('@vladmandic/face-api/package.json'));
const modelDir = path.join(pkg, 'model');
const backend = process.argv[2] || 'wasm';
function toTensor(file) {
  const raw = jpeg.decode(fs.readFileSync(file), { useTArray: true, formatAsRGBA: false });
  return { t: tf.tensor3d(raw.data, [raw.height, raw.width, 3], 'int32'), w: raw.width, h: raw.height };
}
(async () => {
  let t0 = performance.now();
  if (backend === 'wasm') wasm.setWasmPaths(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')) + '/dist/');
  await tf.setBackend(backend); await tf.ready();
  await faceapi.nets.ssdMobilenetv1.loadFromDisk(modelDir);
  await faceapi.nets.tinyFaceDetector.loadFromDisk(modelDir);
  await faceapi.nets.faceLandmark68Net.loadFromDisk(modelDir);
  await faceapi.nets.faceRecognitionNet.loadFromDisk(modelDir);
  console.log(`face-api ${faceapi.version} tfjs ${tf.version_core} backend ${tf.getBackend()} init+load ${(performance.now()-t0).toFixed(0)} ms`);
  const descs = {};
  for (let i = 1; i <= 6; i++) {
    const f = path.join(pkg, 'demo', `sample${i}.jpg`);
    let td = performance.now();
    const { t, w, h } = toTensor(f);
    const dec = performance.now() - td;
    for (const [name, opt] of [['ssd', new faceapi.SsdMobilenetv1Options({ minConfidence: 0.5 })], ['tiny', new faceapi.TinyFaceDetectorOptions({ inputSize: 416 })]]) {
      for (let rep = 0; rep < 2; rep++) {
        t0 = performance.now();
        const all = await faceapi.detectAllFaces(t, opt).withFaceLandmarks().withFaceDescriptors();
        const ms = performance.now() - t0;
        if (rep === 1) console.log(`sample${i} ${w}x${h} decode ${dec.toFixed(0)}ms ${name}: faces=${all.length} ${ms.toFixed(0)} ms (all faces+landmarks+descriptors), scores=${all.map(a=>a.detection.score.toFixed(2)).join(',')}`);
        if (name === 'ssd') descs[`sample${i}`] = all.map(a => a.descriptor);
      }
    }
    t.dispose();
  }
  // descriptor-only timing on 150x150 aligned face
  fs.writeFileSync(`descs-${backend}.json`, JSON.stringify(Object.fromEntries(Object.entries(descs).map(([k,v])=>[k,v.map(d=>Array.from(d))]))));
  const flat = []; for (const [k, v] of Object.entries(descs)) v.forEach((d, j) => flat.push([`${k}#${j}`, d]));
  let minD = 9, maxD = 0; const close = [];
  for (let a = 0; a < flat.length; a++) for (let b = a+1; b < flat.length; b++) {
    const d = faceapi.euclideanDistance(flat[a][1], flat[b][1]);
    minD = Math.min(minD, d); maxD = Math.max(maxD, d);
    if (d < 0.6) close.push(`${flat[a][0]}~${flat[b][0]}=${d.toFixed(3)}`);
  }
  console.log(`total faces ${flat.length}; pairwise distance min ${minD.toFixed(3)} max ${maxD.toFixed(3)}; pairs <0.6: ${close.join(' ') || 'none'}`);
})();
