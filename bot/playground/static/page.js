// The playground page: a small Slack client. The server renders every message as HTML
// (bot/render/html.py) and pushes changes as server-sent events; this script only places
// them, and turns clicks, typing and dropped files into the playground's /ui/ actions.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const messages = $("messages"), threadBody = $("thread-body"), thread = $("thread");
  const composer = $("composer"), box = $("message"), replyBox = $("reply"), status = $("status");
  let openThread = null;

  async function ui(path, body) {
    const init = { method: "POST", headers: { "X-Playground": "1" } };
    if (body instanceof FormData) init.body = body;
    else { init.body = JSON.stringify(body || {}); init.headers["Content-Type"] = "application/json"; }
    const response = await fetch(path, init);
    const answer = await response.json().catch(() => ({}));
    status.textContent = answer.ok === false || !response.ok ? (answer.error || `HTTP ${response.status}`) : "";
    return answer;
  }

  function fromHtml(html) {
    const template = document.createElement("template");
    template.innerHTML = html;  // trusted: rendered and escaped by the server
    return template.content.firstElementChild;
  }

  function stickToBottom(list, change) {
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
    change();
    if (atBottom) list.scrollTop = list.scrollHeight;
  }

  function place(push) {
    const list = push.thread ? threadBody : messages;
    const node = fromHtml(push.html);
    if (push.thread) node.hidden = push.thread !== openThread;
    const old = document.getElementById(node.id);
    stickToBottom(list, () => { if (old) old.replaceWith(node); else list.append(node); });
    if (push.ts === openThread) refreshParent();
  }

  // The thread starts with its parent, as in Slack: a copy, without its buttons (they stay on
  // the original in the channel), kept in step when the parent changes.
  function refreshParent() {
    const parent = $("thread-parent");
    parent.replaceChildren();
    const source = openThread && document.getElementById(`m-${openThread}`);
    if (!source) return;
    const copy = document.createElement("div");
    copy.className = source.className;
    copy.append(...source.cloneNode(true).childNodes);
    for (const button of copy.querySelectorAll("button")) button.remove();
    parent.append(copy);
  }

  function showThread(ts) {
    openThread = ts;
    refreshParent();
    for (const node of threadBody.querySelectorAll("article")) node.hidden = node.dataset.thread !== ts;
    thread.hidden = ts === null;
    if (ts !== null) { threadBody.scrollTop = threadBody.scrollHeight; replyBox.focus(); }
  }

  function show(view) {
    $("channel-view").hidden = view !== "channel";
    $("home").hidden = view !== "home";
    $("open-channel").classList.toggle("current", view === "channel");
    $("open-home").classList.toggle("current", view === "home");
  }

  function handle(push) {
    if (push.kind === "message") place(push);
    else if (push.kind === "delete") document.getElementById(`m-${push.ts}`)?.remove();
    else if (push.kind === "home") $("home-body").innerHTML = push.html;
  }

  let seq = Number(document.body.dataset.seq || 0);
  const events = new EventSource(`/ui/events?after=${seq}`);
  events.onmessage = (event) => { seq = Number(event.lastEventId) || seq; handle(JSON.parse(event.data)); };

  async function send(textarea, threadTs) {
    const text = textarea.value;
    if (!text.trim()) return;
    textarea.value = "";
    const answer = await ui("/ui/send", { text, thread_ts: threadTs });
    if (answer.ok === false) textarea.value = text;
  }

  function submitOnEnter(textarea, form) {
    textarea.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) { event.preventDefault(); form.requestSubmit(); }
    });
  }

  composer.addEventListener("submit", (event) => { event.preventDefault(); send(box, null); });
  $("reply-composer").addEventListener("submit", (event) => { event.preventDefault(); send(replyBox, openThread); });
  submitOnEnter(box, composer);
  submitOnEnter(replyBox, $("reply-composer"));
  $("close-thread").addEventListener("click", () => showThread(null));
  $("open-channel").addEventListener("click", () => show("channel"));
  $("open-home").addEventListener("click", () => { show("home"); ui("/ui/home"); });
  $("summary").addEventListener("click", () => ui("/ui/send", { text: "/tlscheck summary" }));

  async function upload(file, threadTs) {
    const form = new FormData();
    form.append("file", file);
    if (threadTs) form.append("thread_ts", threadTs);
    const text = threadTs ? "" : box.value;
    form.append("text", text);
    status.textContent = `Uploading ${file.name}…`;
    const answer = await ui("/ui/upload", form);
    if (answer.ok && !threadTs) box.value = "";
  }

  $("file").addEventListener("change", (event) => {
    for (const file of event.target.files) upload(file, null);
    event.target.value = "";
  });

  for (const zone of [composer, $("reply-composer"), messages, threadBody]) {
    zone.addEventListener("dragover", (event) => { event.preventDefault(); zone.classList.add("drag"); });
    zone.addEventListener("dragleave", () => zone.classList.remove("drag"));
    zone.addEventListener("drop", (event) => {
      event.preventDefault();
      zone.classList.remove("drag");
      const inThread = zone === threadBody || zone.dataset.drop === "thread";
      for (const file of event.dataTransfer.files) upload(file, inThread ? openThread : null);
    });
  }

  async function copy(button) {
    const code = button.parentElement.querySelector("code").textContent;
    try { await navigator.clipboard.writeText(code); }
    catch {
      const area = document.createElement("textarea");
      area.value = code; document.body.append(area); area.select(); document.execCommand("copy"); area.remove();
    }
    button.textContent = "Copied";
    setTimeout(() => { button.textContent = "Copy"; }, 1500);
  }

  document.addEventListener("click", async (event) => {
    const button = event.target.closest("button");
    if (!button) return;
    if (button.classList.contains("replies")) { showThread(button.dataset.thread); return; }
    if (button.classList.contains("copy")) { copy(button); return; }
    if (button.classList.contains("try")) { box.value = button.dataset.text; box.focus(); return; }
    if (button.classList.contains("example")) {
      const response = await fetch(`/ui/example/${encodeURIComponent(button.dataset.example)}`);
      box.value = await response.text();
      show("channel");
      box.focus();
      return;
    }
    if (button.dataset.actionId !== undefined) {
      const article = button.closest("article");
      if (!article) return;
      button.disabled = true;
      await ui("/ui/action", {
        ts: article.dataset.ts, action_id: button.dataset.actionId,
        block_id: button.dataset.blockId, value: button.dataset.value,
      });
      button.disabled = false;
    }
  });

  showThread(null);
  messages.scrollTop = messages.scrollHeight;
})();
