// npm `openai` (v6) against `ras serve`: images.generate with b64_json, then the error object of a bad size.
// Usage: node openai.mjs BASE_URL   → prints one JSON line for the C# test to check.
import OpenAI from 'openai';

const base = process.argv[2];
const client = new OpenAI({ baseURL: new URL('v1', base).href, apiKey: 'unused', maxRetries: 0 });
const prompt = 'a large yellow star at the center on a purple background';
// Engine knobs beyond OpenAI's schema travel in the body as extra fields.
const result = await client.images.generate({ model: 'ras-shapes', prompt, n: 2, size: '64x64', response_format: 'b64_json', steps: 6, ras: true });
const again = await client.images.generate({ model: 'ras-shapes', prompt, size: '64x64', response_format: 'b64_json', steps: 6, ras: true, seed: result.data[1].seed });
let error = null;
try {
  await client.images.generate({ model: 'ras-shapes', prompt, size: '63x64', response_format: 'b64_json' });
} catch (e) {
  error = { status: e.status, name: e.constructor.name, message: e.message, error: e.error, param: e.param, type: e.type, code: e.code };
}
console.log(JSON.stringify({ images: result.data.map((d) => d.b64_json), seeds: result.data.map((d) => d.seed), again: again.data[0].b64_json, error }));
