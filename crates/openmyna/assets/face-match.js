// The kiosk's face matcher (served at /face-match.js): @vladmandic/face-api (SSD MobileNet v1
// detector, 68-point landmarks, the dlib ResNet 128-d descriptor) on TF.js's WebAssembly
// backend, the card's JPEG 2000 photo decoded by OpenJPEG (WebAssembly; the page loads
// openjpegwasm_decode.js first). Used by the face screen (/face.js) and by the matcher test
// (browser/face-matcher.mjs), so that the test measures the code the kiosk runs.
import * as faceapi from '/face-assets/@vladmandic/face-api/dist/face-api.esm.js';

const ASSETS = '/face-assets';
// The detector's confidence needed in a camera frame, and in the card's photo (which holds
// exactly one face, small and grey: a lower bar finds it where 0.5 misses some).
const FRAME_CONFIDENCE = 0.4;
const CARD_CONFIDENCE = 0.2;

let ready = null;

// Loads the backend and the three models once.
export function setup() {
  if (!ready) {
    ready = (async () => {
      faceapi.tf.setWasmPaths(`${ASSETS}/@tensorflow/tfjs-backend-wasm/dist/`);
      await faceapi.tf.setBackend('wasm');
      await faceapi.tf.ready();
      const models = `${ASSETS}/@vladmandic/face-api/model`;
      await faceapi.nets.ssdMobilenetv1.loadFromUri(models);
      await faceapi.nets.faceLandmark68Net.loadFromUri(models);
      await faceapi.nets.faceRecognitionNet.loadFromUri(models);
    })();
  }
  return ready;
}

// Greyscale (BT.601 luma) copy of an image source, as the card's photo is grey.
export function grey(source, width, height) {
  const c = document.createElement('canvas');
  c.width = width;
  c.height = height;
  const g = c.getContext('2d', { willReadFrequently: true });
  g.drawImage(source, 0, 0, width, height);
  const img = g.getImageData(0, 0, width, height);
  const d = img.data;
  for (let i = 0; i < d.length; i += 4) {
    const y = Math.round(0.299 * d[i] + 0.587 * d[i + 1] + 0.114 * d[i + 2]);
    d[i] = y;
    d[i + 1] = y;
    d[i + 2] = y;
  }
  g.putImageData(img, 0, 0);
  return c;
}

// Clears a canvas and gives its memory back.
export function wipe(canvas) {
  canvas.getContext('2d').clearRect(0, 0, canvas.width, canvas.height);
  canvas.width = 0;
  canvas.height = 0;
}

let openjpeg = null;

// JPEG 2000 bytes (the card's photo) → a canvas. The bytes are zeroed after decoding.
export async function decodeJp2(bytes) {
  if (!openjpeg) {
    // eslint-disable-next-line no-undef
    openjpeg = OpenJPEGWASM({ locateFile: (f) => `${ASSETS}/@cornerstonejs/codec-openjpeg/dist/${f}` });
  }
  const opj = await openjpeg;
  const dec = new opj.J2KDecoder();
  dec.getEncodedBuffer(bytes.length).set(bytes);
  bytes.fill(0);
  dec.decode();
  const info = dec.getFrameInfo();
  const px = dec.getDecodedBuffer();
  const c = document.createElement('canvas');
  c.width = info.width;
  c.height = info.height;
  const g = c.getContext('2d');
  const img = g.createImageData(info.width, info.height);
  const n = info.width * info.height;
  const k = info.componentCount;
  for (let i = 0; i < n; i++) {
    const v = px[i * k];
    img.data[4 * i] = v;
    img.data[4 * i + 1] = k >= 3 ? px[i * k + 1] : v;
    img.data[4 * i + 2] = k >= 3 ? px[i * k + 2] : v;
    img.data[4 * i + 3] = 255;
  }
  px.fill(0);
  g.putImageData(img, 0, 0);
  if (dec.delete) dec.delete();
  return c;
}

// The one face of an image: its descriptor (Float32Array(128)) and its box height in pixels,
// or null when no face is found.
export async function describe(canvas, minConfidence = FRAME_CONFIDENCE) {
  const r = await faceapi
    .detectSingleFace(canvas, new faceapi.SsdMobilenetv1Options({ minConfidence, maxResults: 1 }))
    .withFaceLandmarks()
    .withFaceDescriptor();
  return r ? { descriptor: r.descriptor, height: r.detection.box.height, score: r.detection.score } : null;
}

// The card's photo (a tight 3:4 portrait) described: framed with a grey margin first, as the
// detector finds faces that fill the whole picture less surely.
export async function describeCard(photo) {
  const margin = Math.round(photo.height * 0.25);
  const c = document.createElement('canvas');
  c.width = photo.width + 2 * margin;
  c.height = photo.height + 2 * margin;
  const g = c.getContext('2d');
  g.fillStyle = '#808080';
  g.fillRect(0, 0, c.width, c.height);
  g.drawImage(photo, margin, margin);
  try {
    return await describe(c, CARD_CONFIDENCE);
  } finally {
    wipe(c);
  }
}

// A camera frame (video or canvas, 640×480): greyed like the card's photo, then described.
export async function describeFrame(source, width, height) {
  const frame = grey(source, width, height);
  try {
    return await describe(frame);
  } finally {
    wipe(frame);
  }
}

export function distance(a, b) {
  return faceapi.euclideanDistance(a, b);
}
