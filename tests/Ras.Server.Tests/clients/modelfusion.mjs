// npm `modelfusion`: its Automatic1111 image model against `ras serve` (it posts to /sdapi/v1/txt2img).
// Usage: node modelfusion.mjs BASE_URL → prints one JSON line for the C# test to check.
import { automatic1111, generateImage } from 'modelfusion';

const base = new URL(process.argv[2]);
const api = automatic1111.Api({ baseUrl: { host: base.hostname, port: base.port } });
const settings = { api, model: 'ras-shapes', steps: 6, width: 64, height: 64, cfgScale: 4, sampler: 'Euler', seed: 11 };
const { imageBase64, rawResponse } = await generateImage({
  model: automatic1111.ImageGenerator(settings),
  prompt: { prompt: 'a small red circle at the center on a blue background', negativePrompt: 'blurry' },
  fullResponse: true,
});
let error = null;
try {
  await generateImage({ model: automatic1111.ImageGenerator({ ...settings, width: 63 }), prompt: { prompt: 'x' } });
} catch (e) {
  error = { name: e.name, message: e.message, statusCode: e.statusCode, data: e.data ?? null };
}
console.log(JSON.stringify({ image: imageBase64, info: rawResponse.info, error }));
