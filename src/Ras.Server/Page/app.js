// The ras web page: the same public API any client uses (A1111 routes), no build step, no dependencies.
'use strict';

const $ = (id) => document.getElementById(id);
const SETTINGS_KEY = 'ras.settings';
const AUTH_KEY = 'ras.auth';
const fields = ['prompt', 'negative', 'model', 'width', 'height', 'steps', 'guidance', 'seed', 'batch', 'ras', 'ratio'];
let polling = null;

function status(text, isError = false) {
  $('status').textContent = text;
  $('status').className = isError ? 'error' : '';
}

// Credentials go in an explicit header with credentials: 'omit', so the browser never shows its own Basic dialog.
async function api(path, body) {
  const headers = {};
  const auth = sessionStorage.getItem(AUTH_KEY);
  if (auth) headers.Authorization = 'Basic ' + auth;
  const init = { method: body === undefined ? 'GET' : 'POST', headers, credentials: 'omit' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  const data = await response.json().catch(() => null);
  if (response.status === 401) {
    sessionStorage.removeItem(AUTH_KEY);
    await askCredentials('Those credentials were not accepted.');
    return api(path, body);
  }
  if (!response.ok) {
    throw new Error((data && (data.detail || (data.error && data.error.message))) || response.statusText);
  }
  return data;
}

function askCredentials(message = '') {
  return new Promise((resolve) => {
    $('login-error').textContent = message;
    const form = $('login-form');
    form.onsubmit = (event) => {
      event.preventDefault();
      const text = $('user').value + ':' + $('password').value;
      sessionStorage.setItem(AUTH_KEY, btoa(String.fromCharCode(...new TextEncoder().encode(text))));
      $('login').close();
      resolve();
    };
    $('login').showModal();
  });
}

function saveSettings() {
  const settings = {};
  for (const name of fields) {
    const element = $(name);
    settings[name] = element.type === 'checkbox' ? element.checked : element.value;
  }
  localStorage.setItem(SETTINGS_KEY, JSON.stringify(settings));
}

function restoreSettings() {
  let settings = {};
  try { settings = JSON.parse(localStorage.getItem(SETTINGS_KEY) || '{}'); } catch { settings = {}; }
  for (const name of fields) {
    if (!(name in settings) || name === 'model') continue;
    const element = $(name);
    if (element.type === 'checkbox') element.checked = !!settings[name]; else element.value = settings[name];
  }
  return settings;
}

async function loadModels(saved) {
  const [models, options] = await Promise.all([api('/sdapi/v1/sd-models'), api('/sdapi/v1/options')]);
  const select = $('model');
  select.replaceChildren(...models.map((m) => new Option(m.title, m.title)));
  const wanted = saved.model && models.some((m) => m.title === saved.model) ? saved.model : options.sd_model_checkpoint;
  select.value = wanted;
}

function number(id) {
  const text = $(id).value.trim();
  return text === '' ? undefined : Number(text);
}

function request(taskId) {
  const body = {
    prompt: $('prompt').value,
    negative_prompt: $('negative').value,
    seed: number('seed') ?? -1,
    batch_size: number('batch') ?? 1,
    force_task_id: taskId,
    ras_heatmap: true,
    override_settings: { sd_model_checkpoint: $('model').value },
  };
  for (const [id, key] of [['width', 'width'], ['height', 'height'], ['steps', 'steps'], ['guidance', 'cfg_scale']]) {
    const value = number(id);
    if (value !== undefined) body[key] = value;
  }
  if ($('ras').checked) {
    body.alwayson_scripts = { RAS: { args: [true, number('ratio') ?? 0.5] } };
  }
  return body;
}

function showResult(result) {
  const info = JSON.parse(result.info);
  result.images.forEach((b64, i) => {
    const figure = document.createElement('figure');
    const image = document.createElement('img');
    image.src = 'data:image/png;base64,' + b64;   // the API's PNG bytes as they are
    image.alt = `generated image ${i + 1}, seed ${info.all_seeds[i]}`;
    image.className = 'result';
    figure.append(image);
    const heat = info.ras_heatmaps && info.ras_heatmaps[i];
    if (heat) {
      const heatmap = document.createElement('img');
      heatmap.src = 'data:image/png;base64,' + heat;
      heatmap.alt = `RAS heatmap of image ${i + 1} (blue: computed in few steps, red: every step)`;
      heatmap.className = 'heatmap';
      figure.append(heatmap);
    }
    const text = document.createElement('pre');
    text.className = 'infotext';
    text.textContent = info.infotexts[i];
    figure.append(text);
    $('gallery').prepend(figure);
  });
  const notes = (info.warnings || []).join('; ');
  status(`${result.images.length} image(s), seed ${info.seed}` + (notes ? ` — ${notes}` : ''));
}

async function poll(taskId) {
  let previewId = -1;
  while (polling === taskId) {
    try {
      const p = await api('/internal/progress', { id_task: taskId, id_live_preview: previewId, live_preview: true });
      if (polling !== taskId) break;
      if (p.live_preview) $('preview').src = p.live_preview;
      previewId = p.id_live_preview ?? previewId;
      if (p.progress != null) $('bar').value = p.progress;
      $('live-text').textContent = p.textinfo || '';
    } catch (error) {
      $('live-text').textContent = String(error.message || error);
    }
    await new Promise((resolve) => setTimeout(resolve, 400));
  }
}

async function generate(event) {
  event.preventDefault();
  saveSettings();
  const taskId = 'task(page-' + Date.now().toString(36) + Math.random().toString(36).slice(2, 8) + ')';
  $('generate').disabled = true;
  $('interrupt').disabled = false;
  $('live').hidden = false;
  $('bar').value = 0;
  $('live-text').textContent = 'Queued...';
  status('Generating...');
  polling = taskId;
  const watcher = poll(taskId);
  try {
    showResult(await api('/sdapi/v1/txt2img', request(taskId)));
  } catch (error) {
    status(String(error.message || error), true);
  } finally {
    polling = null;
    await watcher;
    $('generate').disabled = false;
    $('interrupt').disabled = true;
    $('live').hidden = true;
  }
}

async function start() {
  const saved = restoreSettings();
  for (const name of fields) $(name).addEventListener('change', saveSettings);
  $('settings').addEventListener('submit', generate);
  $('interrupt').addEventListener('click', () => api('/sdapi/v1/interrupt', {}).catch((error) => status(String(error.message), true)));
  const ping = await fetch('/internal/ping', { credentials: 'omit' });
  if (ping.headers.get('X-Ras-Auth') === 'basic' && !sessionStorage.getItem(AUTH_KEY)) {
    await askCredentials();
  }
  try {
    await loadModels(saved);
    status('Ready');
  } catch (error) {
    status(String(error.message || error), true);
  }
}

start();
