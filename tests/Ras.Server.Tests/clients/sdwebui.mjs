// npm `node-sd-webui` against `ras serve`: txt2img, img2img and png-info.
// Usage: node sdwebui.mjs BASE_URL → prints one JSON line for the C# test to check.
import sdwebui from 'node-sd-webui';

const client = sdwebui({ apiUrl: process.argv[2].replace(/\/$/, '') });
const txt = await client.txt2img({ prompt: 'a large blue square at the top left on a yellow background', steps: 6, width: 64, height: 64, seed: 21, samplingMethod: 'Euler' });
const img = await client.img2img({ imageData: [txt.images[0]], prompt: 'a large blue square at the top left on a yellow background', steps: 8, width: 64, height: 64, seed: 22 });
const info = await client.pngInfo({ imageData: txt.images[0] });
console.log(JSON.stringify({ txt: { image: txt.images[0], info: txt.info }, img: { image: img.images[0], info: img.info }, pngInfo: info }));
