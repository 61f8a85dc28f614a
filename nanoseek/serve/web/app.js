// nanoseek web chat: plain JS, no build step. Talks to /v1/chat/completions with stream=true,
// parses the server-sent events from a ReadableStream, and routes `reasoning_content` to the
// thinking panel and `content` to the answer, both rendered by render.js as they stream. Earlier
// turns are sent back without reasoning.
"use strict";

const TEXT = {
  en: { newChat: "New chat", send: "Send", stop: "Stop", placeholder: "Message nanoseek",
        hello: "How can I help you today?", thinking: "Thinking", thought: (s) => `Thought for ${s} s`,
        hint: "The model thinks before it answers: its reasoning appears above the reply.",
        stopped: "stopped", policy: "Operator policy in force", key: "This server needs an API key:",
        copy: "Copy", copied: "Copied", regenerate: "Regenerate" },
  es: { newChat: "Nuevo chat", send: "Enviar", stop: "Detener", placeholder: "Escribe a nanoseek",
        hello: "¿En qué puedo ayudarte hoy?", thinking: "Pensando", thought: (s) => `Pensó durante ${s} s`,
        hint: "El modelo piensa antes de responder: su razonamiento aparece encima de la respuesta.",
        stopped: "detenido", policy: "Política del operador en vigor", key: "Este servidor necesita una clave de API:",
        copy: "Copiar", copied: "Copiado", regenerate: "Regenerar" },
  zh: { newChat: "新对话", send: "发送", stop: "停止", placeholder: "给 nanoseek 发送消息",
        hello: "今天我能帮你做什么？", thinking: "思考中", thought: (s) => `已思考 ${s} 秒`,
        hint: "模型会先思考再回答：它的推理过程显示在回答上方。",
        stopped: "已停止", policy: "当前生效的运营方策略", key: "此服务器需要 API 密钥：",
        copy: "复制", copied: "已复制", regenerate: "重新生成" },
};

const $ = (id) => document.getElementById(id);
const state = { messages: [], controller: null, model: null, lang: "en" };

function t(key, ...args) {
  const v = TEXT[state.lang][key];
  return typeof v === "function" ? v(...args) : v;
}

function setLanguage(lang) {
  state.lang = TEXT[lang] ? lang : "en";
  document.documentElement.lang = state.lang === "zh" ? "zh-CN" : state.lang;
  $("lang").value = state.lang;
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll("[data-i18n-placeholder]")) el.placeholder = t(el.dataset.i18nPlaceholder);
  for (const el of document.querySelectorAll(".thinking .label")) {
    el.textContent = el.dataset.seconds ? t("thought", el.dataset.seconds) : t("thinking");
  }
  localStorage.setItem("nanoseek.lang", state.lang);
}

function headers() {
  const h = { "Content-Type": "application/json" };
  const key = localStorage.getItem("nanoseek.apiKey");
  if (key) h.Authorization = `Bearer ${key}`;
  return h;
}

// fetch that asks for an API key once when the server answers 401
async function api(path, options = {}) {
  let res = await fetch(path, { ...options, headers: headers() });
  if (res.status === 401) {
    const key = window.prompt(t("key"));
    if (key) {
      localStorage.setItem("nanoseek.apiKey", key.trim());
      res = await fetch(path, { ...options, headers: headers() });
    }
  }
  return res;
}

async function loadModel() {
  try {
    const res = await api("/v1/models");
    if (!res.ok) return;
    const card = (await res.json()).data[0];
    state.model = card.id;
    $("model").textContent = `${card.id} · ${card.context_length} tokens`;
    const p = card.policy || {};
    if (p.system_prompt || (p.refusal_rules || []).length) {
      $("policy").hidden = false;
      $("policy-text").textContent = JSON.stringify(p, null, 2);
    }
  } catch (e) { /* the first send will show the error */ }
}

// ---- rendering ----------------------------------------------------------------------------

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text) node.textContent = text;
  return node;
}

// A button whose label follows the interface language.
function button(cls, key, onClick) {
  const node = el("button", cls, t(key));
  node.type = "button";
  node.dataset.i18n = key;
  node.addEventListener("click", onClick);
  return node;
}

function nearBottom() {
  const c = $("conversation");
  return c.scrollHeight - c.scrollTop - c.clientHeight < 80;
}

function scrollDown(force) {
  const c = $("conversation");
  if (force || nearBottom()) c.scrollTop = c.scrollHeight;
}

function addUser(text) {
  $("empty").hidden = true;
  const msg = el("div", "msg user");
  msg.append(el("div", "bubble", text));
  $("conversation").append(msg);
  scrollDown(true);
}

function addAssistant() {
  const msg = el("div", "msg assistant");
  const thinking = el("details", "thinking live");
  thinking.open = true;
  thinking.hidden = true;
  const summary = el("summary");
  summary.append(el("span", "label", t("thinking")));
  thinking.append(summary, el("div", "reasoning"));
  msg.append(thinking, el("div", "content"), el("div", "meta"), el("div", "reply-actions"));
  $("conversation").append(msg);
  return {
    msg, thinking,
    reasoning: painter(thinking.querySelector(".reasoning")),
    content: painter(msg.querySelector(".content")),
    meta: msg.querySelector(".meta"),
    actions: msg.querySelector(".reply-actions"),
    label: summary.querySelector(".label"),
    started: performance.now(),
  };
}

// Shows a streaming text at most once a frame, however fast tokens come; flush() shows the
// last text now. The view stays at the bottom if the reader was there.
function painter(node) {
  let text = "", queued = false;
  const paint = () => {
    if (!queued) return;
    queued = false;
    const stick = nearBottom();
    Render.show(node, text);
    addCopyButtons(node);
    if (stick) scrollDown(true);
  };
  return {
    set(value) {
      text = value;
      if (!queued) requestAnimationFrame(paint);
      queued = true;
    },
    flush: paint,
  };
}

// Code blocks get a copy button (made here, after sanitising, so it holds no model text).
function addCopyButtons(node) {
  for (const pre of node.querySelectorAll("pre")) {
    const box = el("div", "code");
    pre.replaceWith(box);
    const copy = button("copy-code", "copy", () => copyText(pre.textContent, copy));
    box.append(copy, pre);
  }
}

async function copyText(text, source) {
  try {
    await navigator.clipboard.writeText(text);
  } catch (e) {  // no Clipboard API outside a secure context (plain http to a LAN address)
    const area = el("textarea");
    area.value = text;
    document.body.append(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
  source.textContent = t("copied");
  setTimeout(() => { source.textContent = t("copy"); }, 1500);
}

// Copy and Regenerate under a finished answer (CSS shows Regenerate on the last reply only).
function addActions(view, content) {
  const copy = button("copy-answer", "copy", () => copyText(content, copy));
  view.actions.append(copy, button("regenerate", "regenerate", () => regenerate(view.msg)));
}

function endThinking(view) {
  if (!view.thinking.classList.contains("live")) return;
  view.thinking.classList.remove("live");
  const seconds = ((performance.now() - view.started) / 1000).toFixed(1);
  view.label.dataset.seconds = seconds;
  view.label.textContent = t("thought", seconds);
}

// ---- streaming ----------------------------------------------------------------------------

// Calls onData(object) for every `data: {...}` event; returns when the stream ends or [DONE].
async function readEvents(body, onData) {
  const reader = body.getReader();
  const decoder = new TextDecoder("utf-8");
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.search(/\r?\n\r?\n/)) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut).replace(/^\r?\n\r?\n/, "");
      const data = block.split(/\r?\n/).filter((l) => l.startsWith("data:"))
        .map((l) => l.slice(5).replace(/^ /, "")).join("\n");
      if (!data) continue;
      if (data === "[DONE]") return;
      onData(JSON.parse(data));
    }
  }
}

async function send(text) {
  state.messages.push({ role: "user", content: text });
  addUser(text);
  await reply();
}

// Streams the assistant's reply to state.messages, which ends with the user's turn.
async function reply() {
  const view = addAssistant();
  const controller = new AbortController();
  state.controller = controller;
  setBusy(true);
  let reasoning = "", content = "", finish = null;
  try {
    const res = await api("/v1/chat/completions", {
      method: "POST",
      signal: controller.signal,
      body: JSON.stringify({ model: state.model || "nanoseek", messages: state.messages, stream: true }),
    });
    if (!res.ok) {
      let message = `${res.status}`;
      try { message = (await res.json()).error.message; } catch (e) { /* not JSON */ }
      throw new Error(message);
    }
    await readEvents(res.body, (chunk) => {
      const choice = (chunk.choices || [])[0];
      if (!choice) return;
      const delta = choice.delta || {};
      if (delta.reasoning_content) {
        reasoning += delta.reasoning_content;
        view.thinking.hidden = false;
        view.reasoning.set(reasoning);
      }
      if (delta.content) {
        endThinking(view);
        content += delta.content;
        view.content.set(content);
      }
      if (choice.finish_reason) finish = choice.finish_reason;
    });
    if (finish === "length") view.meta.textContent = "finish_reason: length";
  } catch (e) {
    if (e.name === "AbortError") {
      view.meta.textContent = `(${t("stopped")})`;
    } else {
      view.meta.textContent = e.message;
      view.meta.classList.add("error");
    }
  } finally {
    view.reasoning.flush();
    view.content.flush();
    endThinking(view);
    if (!reasoning) view.thinking.hidden = true;
    if (state.controller === controller) {
      state.controller = null;
      setBusy(false);
    }
  }
  if (controller.signal.aborted && state.messages.at(-1)?.role !== "user") return;  // chat was reset
  // Only the answer goes back to the model next turn (R1 never feeds old reasoning back).
  if (content) {
    state.messages.push({ role: "assistant", content });
    addActions(view, content);
  } else {
    state.messages.pop();  // no answer: forget the question too, so roles keep alternating
  }
  scrollDown();
}

// Replaces the last reply with a new one to the same question.
function regenerate(msg) {
  if (state.controller || msg !== $("conversation").lastElementChild) return;
  state.messages.pop();
  msg.remove();
  reply();
}

function setBusy(busy) {
  $("send").hidden = busy;
  $("stop").hidden = !busy;
  if (!busy) $("input").focus();
}

function stop() {
  if (state.controller) state.controller.abort();
}

function newChat() {
  const controller = state.controller;
  state.messages = [];
  stop();
  if (controller) { state.controller = null; setBusy(false); }
  for (const node of [...$("conversation").children]) if (node.id !== "empty") node.remove();
  $("empty").hidden = false;
  $("input").value = "";
  $("input").focus();
}

function submit() {
  const input = $("input");
  const text = input.value.trim();
  if (!text || state.controller) return;
  input.value = "";
  autosize();
  send(text);
}

function autosize() {
  const input = $("input");
  input.style.height = "auto";
  input.style.height = `${Math.min(input.scrollHeight, 200)}px`;
}

document.addEventListener("DOMContentLoaded", () => {
  const saved = localStorage.getItem("nanoseek.lang");
  const browser = (navigator.language || "en").slice(0, 2);
  setLanguage(saved || (TEXT[browser] ? browser : "en"));
  $("lang").addEventListener("change", (e) => setLanguage(e.target.value));
  $("composer").addEventListener("submit", (e) => { e.preventDefault(); submit(); });
  $("input").addEventListener("keydown", (e) => {
    // Enter sends, Shift+Enter breaks the line; never while an IME (Chinese input) is composing.
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
      e.preventDefault();
      submit();
    }
  });
  $("input").addEventListener("input", autosize);
  $("stop").addEventListener("click", stop);
  $("new-chat").addEventListener("click", newChat);
  loadModel();
  $("input").focus();
});
