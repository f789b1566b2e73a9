// FaceID console: a thin page over the REST API (docs/openapi.json). Every call carries the API
// key typed in the header; the key and the chosen collection live in sessionStorage only, so
// they are gone when the tab closes. Page text is set with textContent, never parsed as HTML.
"use strict";

const KEY_ITEM = "faceid.key";
const COLLECTION_ITEM = "faceid.collection";
// Faces are enrolled from a frame when its quality reaches this (what `faceid capture` keeps).
const DEFAULT_QUALITY_CUTOFF = 0.45;
// Face crops shown per person: each is one request, and a person may have hundreds of faces.
const THUMBNAILS_PER_PERSON = 24;

const $ = (selector, root = document) => root.querySelector(selector);

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (name === "class") node.className = value;
    else if (name === "dataset") Object.assign(node.dataset, value);
    else if (name === "style") Object.assign(node.style, value);  // CSSOM: allowed by the page's style-src 'self'
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node[name] = value;
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

const format = (score) => (typeof score === "number" ? score.toFixed(3) : "–");

// ------------------------------------------------------------------ API

class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

const session = {
  get key() { return sessionStorage.getItem(KEY_ITEM) || ""; },
  set key(value) { value ? sessionStorage.setItem(KEY_ITEM, value) : sessionStorage.removeItem(KEY_ITEM); },
  get collection() { return sessionStorage.getItem(COLLECTION_ITEM) || ""; },
  set collection(value) { sessionStorage.setItem(COLLECTION_ITEM, value); },
};

// Calls the API; resolves to parsed JSON (or a Blob for images), rejects with ApiError.
async function api(method, path, { json, form } = {}) {
  const headers = {};
  if (session.key) headers.Authorization = "Bearer " + session.key;
  let body;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (form) {
    body = form;
  }
  let response;
  try {
    response = await fetch(path, { method, headers, body, cache: "no-store", credentials: "omit" });
  } catch (error) {
    throw new ApiError(0, "network", "the server cannot be reached (" + error.message + ")");
  }
  const type = response.headers.get("Content-Type") || "";
  if (!response.ok) {
    let error = { code: "http_" + response.status, message: response.statusText || "request failed" };
    if (type.includes("application/json")) error = (await response.json()).error || error;
    throw new ApiError(response.status, error.code, error.message, error.details);
  }
  return type.includes("application/json") ? response.json() : response.blob();
}

const collectionPath = (suffix = "") => "/v1/collections/" + encodeURIComponent(session.collection) + suffix;
const personPath = (name, suffix = "") => collectionPath("/people/" + encodeURIComponent(name) + suffix);

function requireCollection() {
  if (!session.collection) throw new ApiError(0, "bad_request", "choose a collection first (top right)");
}

function imagesForm(field, blobs) {
  const form = new FormData();
  blobs.forEach((blob, i) => form.append(field, blob, blob.name || `frame-${i + 1}.jpg`));
  return form;
}

// ------------------------------------------------------------------ messages and navigation

let messageTimer = null;
function say(text, kind = "info") {
  const box = $("#message");
  box.textContent = text;
  box.className = kind;
  box.hidden = false;
  clearTimeout(messageTimer);
  if (kind !== "error") messageTimer = setTimeout(() => { box.hidden = true; }, 6000);
}

function sayError(error) {
  say(error instanceof ApiError && error.code ? `${error.code}: ${error.message}` : String(error.message || error), "error");
}

// Runs an async action from an event; any failure becomes the message line.
const guarded = (action) => async (event) => {
  if (event && event.preventDefault && event.type === "submit") event.preventDefault();
  try {
    await action(event);
  } catch (error) {
    sayError(error);
  }
};

const pages = {};  // name -> { show(), hide() }

function showPage() {
  const name = (location.hash || "#collections").slice(1);
  const current = pages[name] ? name : "collections";
  for (const [page, handlers] of Object.entries(pages)) {
    const active = page === current;
    $("#page-" + page).hidden = !active;
    if (!active && handlers.hide) handlers.hide();
  }
  document.querySelectorAll(".tabs a[data-page]").forEach((a) => a.classList.toggle("active", a.dataset.page === current));
  document.querySelectorAll(".collection-name").forEach((span) => { span.textContent = session.collection || "(no collection)"; });
  if (pages[current].show) guarded(pages[current].show)();
}

// ------------------------------------------------------------------ drawing faces

// "alice" for a recognised face; an unknown one names the closest person, who was below the threshold.
function faceName(face, withScore) {
  const best = face.candidates && face.candidates[0];
  if (face.person) return withScore ? `${face.person} ${format(face.score)}` : face.person;
  if (!best) return "unknown";
  return withScore ? `unknown (closest ${best.person} ${format(best.score)})` : `unknown (closest ${best.person})`;
}

// Boxes and labels over an image or video inside `stage`, placed in percentages of the
// media's own pixel size so they follow the page's scaling.
function drawFaces(stage, faces, width, height) {
  const overlay = $(".overlay", stage);
  overlay.replaceChildren();
  faces.forEach((face, i) => {
    const box = face.box;
    const known = Boolean(face.person);
    const runnerUp = face.candidates && face.candidates[1];
    const label = el("span", { class: "face-name" }, faceName(face, true));
    const detail = runnerUp ? el("span", { class: "face-runner-up" }, `runner-up ${runnerUp.person} ${format(runnerUp.score)}`) : null;
    overlay.append(el("div", {
      class: "face-box " + (known ? "known" : "unknown"),
      dataset: { index: String(i), person: face.person || "" },
      style: {
        left: `${(100 * box.x) / width}%`,
        top: `${(100 * box.y) / height}%`,
        width: `${(100 * box.width) / width}%`,
        height: `${(100 * box.height) / height}%`,
      },
    }, el("div", { class: "face-label" }, label, detail)));
  });
}

// The face the server enrolls from an image: the largest of the confident ones (subject_face()).
function subjectFace(faces) {
  if (!faces.length) return null;
  const best = Math.max(...faces.map((f) => f.detection_score));
  const area = (f) => f.box.width * f.box.height;
  return faces.filter((f) => f.detection_score >= best - 0.1).reduce((a, b) => (area(b) > area(a) ? b : a));
}

// Drop zones forward dropped image files to `onFiles`, like their file input.
function dropZone(zone, input, onFiles) {
  const images = (list) => Array.from(list).filter((f) => f.type.startsWith("image/"));
  zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("hover"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("hover"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("hover");
    onFiles(images(e.dataTransfer.files));
  });
  input.addEventListener("change", () => onFiles(images(input.files)));
}

// ------------------------------------------------------------------ header: key, collection

async function refreshCollections() {
  const options = $("#collection-options");
  try {
    const { collections } = await api("GET", "/v1/collections");
    options.replaceChildren(...collections.map((c) => el("option", { value: c.name })));
    return collections;
  } catch (error) {
    options.replaceChildren();
    if (error.status === 403) return null;  // a collection key: the user types the collection's name
    throw error;
  }
}

function setCollection(name) {
  session.collection = name;
  $("#collection").value = name;
  document.querySelectorAll(".collection-name").forEach((span) => { span.textContent = name || "(no collection)"; });
}

async function checkServer() {
  const status = $("#server-status");
  try {
    const health = await api("GET", "/health");
    status.textContent = `server ok · ${health.model} · ${health.metric} ≥ ${format(health.threshold)}`;
  } catch (error) {
    status.textContent = "server unreachable";
  }
}

function setupHeader() {
  $("#api-key").value = session.key;
  $("#collection").value = session.collection;
  $("#key-form").addEventListener("submit", guarded(async () => {
    session.key = $("#api-key").value.trim();
    const collections = await refreshCollections();
    // A new session starts in the first collection the key can list.
    if (!session.collection && collections && collections.length) setCollection(collections[0].name);
    say("key accepted for this browser tab");
    showPage();
  }));
  $("#forget-key").addEventListener("click", () => {
    session.key = "";
    $("#api-key").value = "";
    say("key forgotten");
  });
  $("#collection").addEventListener("change", () => {
    setCollection($("#collection").value.trim());
    showPage();
  });
}

// ------------------------------------------------------------------ collections page

pages.collections = {
  async show() {
    const body = $("#collections-table tbody");
    if (!session.key) {
      body.replaceChildren(el("tr", {}, el("td", { colSpan: 5, class: "muted" }, "type an API key above")));
      return;
    }
    const collections = await refreshCollections();
    if (collections === null) {
      body.replaceChildren(el("tr", {}, el("td", { colSpan: 5, class: "muted" }, "this key is for one collection: type its name above")));
      return;
    }
    body.replaceChildren(...collections.map((c) => {
      const remove = el("button", { type: "button", class: "danger" }, "Delete");
      remove.addEventListener("click", guarded(async () => {
        // Two clicks: deleting a collection drops every face in it.
        if (remove.dataset.armed !== "yes") {
          remove.dataset.armed = "yes";
          remove.textContent = "Delete all its faces?";
          return;
        }
        await api("DELETE", "/v1/collections/" + encodeURIComponent(c.name));
        if (session.collection === c.name) setCollection("");
        say(`collection ${c.name} deleted`);
        await pages.collections.show();
      }));
      const open = el("button", { type: "button", onclick: () => { setCollection(c.name); location.hash = "#people"; } }, "Open");
      return el("tr", { dataset: { collection: c.name } },
        el("td", {}, c.name), el("td", {}, String(c.people)), el("td", {}, String(c.faces)),
        el("td", {}, c.created_at), el("td", {}, open, " ", remove));
    }));
  },
};

function setupCollections() {
  $("#create-collection").addEventListener("submit", guarded(async () => {
    const name = $("#new-collection").value.trim();
    await api("POST", "/v1/collections", { json: { name } });
    $("#new-collection").value = "";
    setCollection(name);
    say(`collection ${name} created`);
    await pages.collections.show();
  }));
}

// ------------------------------------------------------------------ people page

const thumbnailUrls = [];  // blob: URLs of the crops shown, revoked on each redraw

async function faceThumbnail(person, face) {
  const img = el("img", { alt: `face ${face.id} of ${person}`, title: face.source, width: 96, height: 96 });
  try {
    const url = URL.createObjectURL(await api("GET", personPath(person, `/faces/${face.id}/crop`)));
    thumbnailUrls.push(url);
    img.src = url;
  } catch (error) {
    img.alt = "no crop kept";
  }
  const remove = el("button", { type: "button", class: "thumb-remove", title: "remove this face" }, "×");
  remove.addEventListener("click", guarded(async () => {
    await api("DELETE", personPath(person, `/faces/${face.id}`));
    say(`face ${face.id} of ${person} removed`);
    await pages.people.show();
  }));
  return el("figure", { class: "thumb", dataset: { faceId: String(face.id) } }, img, remove);
}

async function personCard(person) {
  const { faces } = await api("GET", personPath(person.name, "/faces"));
  const rename = el("input", { value: person.name, size: 14, class: "rename-input" });
  const renameButton = el("button", { type: "button" }, "Rename");
  renameButton.addEventListener("click", guarded(async () => {
    const to = rename.value.trim();
    await api("PATCH", personPath(person.name), { json: { name: to } });
    say(`${person.name} renamed to ${to}`);
    await pages.people.show();
  }));
  const remove = el("button", { type: "button", class: "danger" }, "Remove person");
  remove.addEventListener("click", guarded(async () => {
    if (remove.dataset.armed !== "yes") {
      remove.dataset.armed = "yes";
      remove.textContent = `Remove ${person.name} and ${faces.length} faces?`;
      return;
    }
    await api("DELETE", personPath(person.name));
    say(`${person.name} removed`);
    await pages.people.show();
  }));
  const thumbs = await Promise.all(faces.slice(0, THUMBNAILS_PER_PERSON).map((face) => faceThumbnail(person.name, face)));
  const more = faces.length - thumbs.length;
  return el("article", { class: "card person", dataset: { person: person.name } },
    el("h3", {}, person.name, el("span", { class: "muted" }, ` · ${faces.length} face${faces.length === 1 ? "" : "s"}`)),
    el("div", { class: "thumbs" }, ...thumbs, more > 0 ? el("span", { class: "muted" }, `+${more} more`) : null),
    el("div", { class: "inline" }, rename, renameButton, remove));
}

pages.people = {
  async show() {
    const list = $("#people-list");
    requireCollection();
    const { people } = await api("GET", collectionPath("/people"));
    thumbnailUrls.splice(0).forEach((url) => URL.revokeObjectURL(url));
    const cards = await Promise.all(people.map(personCard));
    list.replaceChildren(...(cards.length ? cards : [el("p", { class: "muted" }, "nobody enrolled yet: add photos above")]));
  },
};

let chosenPhotos = [];

function showEnrollResults(list, response) {
  list.replaceChildren(...response.results.map((r) => el("li", { class: r.status },
    `${r.source}: ${r.status}${r.message ? " (" + r.message + ")" : ""}`)));
}

// POSTs images to a person's faces; shows what became of each.
async function addFaces(name, blobs, resultsList) {
  try {
    const response = await api("POST", personPath(name, "/faces"), { form: imagesForm("images", blobs) });
    showEnrollResults(resultsList, response);
    say(`${response.added} face${response.added === 1 ? "" : "s"} added to ${name}`);
    return response;
  } catch (error) {
    if (Array.isArray(error.details)) showEnrollResults(resultsList, { results: error.details });
    throw error;
  }
}

function setupPeople() {
  const chosen = $("#upload-chosen");
  dropZone($("#upload-drop"), $("#upload-files"), (files) => {
    chosenPhotos = files;
    chosen.textContent = files.length ? `${files.length} photo${files.length === 1 ? "" : "s"}: ${files.map((f) => f.name).join(", ")}` : "";
  });
  $("#upload-form").addEventListener("submit", guarded(async () => {
    requireCollection();
    if (!chosenPhotos.length) throw new ApiError(0, "bad_request", "choose or drop photos first");
    await addFaces($("#upload-name").value.trim(), chosenPhotos, $("#upload-results"));
    chosenPhotos = [];
    chosen.textContent = "";
    $("#upload-files").value = "";
    await pages.people.show();
  }));
}

// ------------------------------------------------------------------ try it page

let triedUrl = null;

async function tryPhoto(file) {
  requireCollection();
  const form = new FormData();
  form.append("image", file, file.name);
  form.append("top_k", "2");  // best and runner-up
  const result = await api("POST", collectionPath("/recognize"), { form });
  if (triedUrl) URL.revokeObjectURL(triedUrl);
  triedUrl = URL.createObjectURL(file);
  const image = $("#try-image");
  image.src = triedUrl;
  await image.decode();
  $("#try-stage").hidden = false;
  drawFaces($("#try-stage"), result.faces, result.image.width, result.image.height);
  const rows = result.faces.map((face, i) => {
    const runnerUp = face.candidates[1];
    const b = face.box;
    return el("tr", { dataset: { person: face.person || "" } },
      el("td", {}, String(i + 1)), el("td", {}, faceName(face, false)), el("td", {}, format(face.score)),
      el("td", {}, runnerUp ? `${runnerUp.person} ${format(runnerUp.score)}` : "–"), el("td", {}, format(face.threshold)),
      el("td", {}, `${Math.round(b.x)},${Math.round(b.y)} ${Math.round(b.width)}×${Math.round(b.height)}`));
  });
  $("#try-results tbody").replaceChildren(...rows);
  $("#try-results").hidden = false;
  say(`${result.faces.length} face${result.faces.length === 1 ? "" : "s"} found`);
}

pages.try = {};

function setupTry() {
  dropZone($("#try-drop"), $("#try-file"), (files) => { if (files.length) guarded(() => tryPhoto(files[0]))(); });
}

// ------------------------------------------------------------------ webcam

async function startCamera(video) {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia)
    throw new ApiError(0, "no_camera", "this browser gives no camera here (the console must be opened over https or on localhost)");
  const stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 640 }, height: { ideal: 480 } }, audio: false });
  video.srcObject = stream;
  await video.play();
  return stream;
}

function stopCamera(video) {
  if (video.srcObject) video.srcObject.getTracks().forEach((track) => track.stop());
  video.srcObject = null;
}

// The video's current frame as a JPEG blob.
function grabFrame(video, canvas) {
  canvas.width = video.videoWidth;
  canvas.height = video.videoHeight;
  canvas.getContext("2d").drawImage(video, 0, 0);
  return new Promise((resolve, reject) =>
    canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error("cannot encode the frame"))), "image/jpeg", 0.92));
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// ------------------------------------------------------------------ enroll page

const enrollment = { frames: [], capturing: false };

function frameCard(frame) {
  const tick = el("input", { type: "checkbox", disabled: true, class: "frame-tick" });
  tick.addEventListener("change", () => { frame.chosen = tick.checked; updateEnrollButton(); });
  const caption = el("figcaption", {}, "scoring…");
  frame.card = el("figure", { class: "frame pending" }, el("img", { src: frame.url, alt: "captured frame" }), caption, tick);
  frame.tick = tick;
  frame.caption = caption;
  return frame.card;
}

function scoreFrame(frame, cutoff) {
  frame.card.classList.remove("pending");
  const face = subjectFace(frame.faces);
  frame.quality = face && face.quality ? face.quality.score : null;
  frame.chosen = frame.quality !== null && frame.quality >= cutoff;
  frame.tick.disabled = frame.quality === null;
  frame.tick.checked = frame.chosen;
  frame.card.classList.toggle("good", frame.chosen);
  frame.card.dataset.quality = frame.quality === null ? "" : String(frame.quality);
  frame.caption.textContent = frame.quality === null
    ? "no face"
    : `quality ${format(frame.quality)}` + (frame.faces.length > 1 ? ` · ${frame.faces.length} faces` : "");
  if (face && face.quality)
    frame.card.title = `sharpness ${format(face.quality.sharpness)}, pose ${format(face.quality.pose)}, ` +
                       `size ${format(face.quality.size)}, light ${format(face.quality.brightness)}`;
}

function updateEnrollButton() {
  const chosen = enrollment.frames.filter((f) => f.chosen).length;
  const button = $("#enroll-submit");
  button.disabled = enrollment.capturing || chosen === 0;
  button.textContent = `Enroll ${chosen} ticked frame${chosen === 1 ? "" : "s"}`;
}

async function captureBurst() {
  const video = $("#enroll-video");
  const count = Math.min(30, Math.max(20, Number($("#enroll-count").value) || 25));
  const cutoff = Number($("#enroll-cutoff").value);
  const canvas = document.createElement("canvas");
  const status = $("#enroll-status");
  enrollment.frames.forEach((f) => URL.revokeObjectURL(f.url));
  enrollment.frames = [];
  enrollment.capturing = true;
  $("#enroll-frames").replaceChildren();
  $("#enroll-results").replaceChildren();
  updateEnrollButton();
  // Frames are scored one after another while capture goes on: the server is never sent more
  // than one frame at a time.
  let scoring = Promise.resolve();
  let scored = 0;
  try {
    for (let i = 0; i < count; ++i) {
      const blob = await grabFrame(video, canvas);
      const frame = { blob, url: URL.createObjectURL(blob), faces: [] };
      enrollment.frames.push(frame);
      $("#enroll-frames").append(frameCard(frame));
      scoring = scoring.then(async () => {
        const form = new FormData();
        form.append("image", blob, `frame-${i + 1}.jpg`);
        frame.faces = (await api("POST", "/v1/detect", { form })).faces;
        scoreFrame(frame, cutoff);
        status.textContent = `captured ${enrollment.frames.length} of ${count}, scored ${++scored}`;
      });
      status.textContent = `captured ${enrollment.frames.length} of ${count}, scored ${scored}`;
      await sleep(200);
    }
    await scoring;
  } finally {
    enrollment.capturing = false;
    updateEnrollButton();
  }
  const good = enrollment.frames.filter((f) => f.chosen).length;
  status.textContent = `${count} frames scored: ${good} at or above ${format(cutoff)}`;
}

async function enrollChosen() {
  requireCollection();
  const name = $("#enroll-name").value.trim();
  if (!name) throw new ApiError(0, "bad_request", "type the person's name first");
  const chosen = enrollment.frames.filter((f) => f.chosen);
  chosen.forEach((f, i) => { f.blob.name = `webcam-${i + 1}.jpg`; });
  await addFaces(name, chosen.map((f) => f.blob), $("#enroll-results"));
}

function setupEnroll() {
  $("#enroll-cutoff").value = String(DEFAULT_QUALITY_CUTOFF);
  $("#enroll-camera").addEventListener("click", guarded(async () => {
    await startCamera($("#enroll-video"));
    $("#enroll-capture").disabled = false;
    $("#enroll-status").textContent = "camera on";
  }));
  $("#enroll-capture").addEventListener("click", guarded(captureBurst));
  $("#enroll-submit").addEventListener("click", guarded(enrollChosen));
}

pages.enroll = {
  hide() {
    stopCamera($("#enroll-video"));
    $("#enroll-capture").disabled = true;
  },
};

// ------------------------------------------------------------------ live page

// `answered`: when the latest answers came (ms), for the frame rate over the last few.
const live = { running: false, answered: [] };

async function liveLoop() {
  const video = $("#live-video");
  const stage = $("#live-stage");
  const canvas = document.createElement("canvas");
  const status = $("#live-status");
  while (live.running) {
    const began = performance.now();
    const form = new FormData();
    form.append("image", await grabFrame(video, canvas), "live.jpg");
    form.append("top_k", "2");
    try {
      const result = await api("POST", collectionPath("/recognize"), { form });
      if (!live.running) break;
      drawFaces(stage, result.faces, result.image.width, result.image.height);
      const now = performance.now();
      live.answered = [...live.answered.slice(-9), now];
      const span = (now - live.answered[0]) / 1000;
      const rate = live.answered.length > 1 ? `${((live.answered.length - 1) / span).toFixed(1)} frames/s` : "";
      const names = result.faces.map((f) => f.person || "unknown").join(", ") || "no face";
      status.textContent = [rate, `${Math.round(now - began)} ms`, names].filter(Boolean).join(" · ");
    } catch (error) {
      sayError(error);
      stopLive();
      break;
    }
    // One request at a time, no faster than the chosen rate.
    const period = 1000 / Math.min(10, Math.max(1, Number($("#live-fps").value) || 3));
    await sleep(Math.max(0, period - (performance.now() - began)));
  }
}

function stopLive() {
  live.running = false;
  stopCamera($("#live-video"));
  $(".overlay", $("#live-stage")).replaceChildren();
  $("#live-start").disabled = false;
  $("#live-stop").disabled = true;
}

function setupLive() {
  $("#live-start").addEventListener("click", guarded(async () => {
    requireCollection();
    await startCamera($("#live-video"));
    Object.assign(live, { running: true, answered: [] });
    $("#live-start").disabled = true;
    $("#live-stop").disabled = false;
    liveLoop();
  }));
  $("#live-stop").addEventListener("click", stopLive);
}

pages.live = { hide: stopLive };

// ------------------------------------------------------------------ start

setupHeader();
setupCollections();
setupPeople();
setupTry();
setupEnroll();
setupLive();
window.addEventListener("hashchange", showPage);
checkServer();
showPage();
