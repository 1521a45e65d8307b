/**
 * The live auction page: plain HTML and JS in a string, so the compiled binary carries it with no
 * file beside it. It reads the item id from its own path, follows /ws/items/{id} (reconnecting after
 * the last event it saw, `?since=`), shows extensions, the reserve, the outcome and whether the viewer
 * leads or was outbid, and bids (with an optional maximum) through the bidder API. Viewing is public;
 * bidding sends the credential the viewer signed in with (docs/security.md, "The live page"). User data
 * is only ever set as textContent.
 */
import { createHash } from "node:crypto";

const STYLE = `
  body { font-family: system-ui, sans-serif; max-width: 44rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
  h1 { margin-bottom: 0.2rem; }
  .muted { color: #666; }
  .price { font-size: 2.4rem; font-weight: 700; }
  .grid { display: grid; grid-template-columns: max-content 1fr; gap: 0.3rem 1rem; margin: 1rem 0; }
  form { display: flex; gap: 0.5rem; flex-wrap: wrap; margin: 1rem 0; }
  input { padding: 0.4rem; font-size: 1rem; }
  button { padding: 0.4rem 1rem; font-size: 1rem; }
  #error { color: #b00020; min-height: 1.4rem; }
  #ok { color: #11753a; min-height: 1.4rem; }
  #feed { list-style: none; padding: 0; border-top: 1px solid #ddd; }
  #feed li { padding: 0.3rem 0; border-bottom: 1px solid #eee; font-variant-numeric: tabular-nums; }
  #conn[data-state="live"] { color: #11753a; }
  #conn[data-state="down"] { color: #b00020; }
  #credential { flex: 1; min-width: 16rem; }
  [hidden] { display: none; }
`;

/** The credential field has no name: a form submitted without the script (CSP form-action 'none' stops it anyway) carries no key. */
const BODY = `<body>
<h1 id="name">Loading…</h1>
<p id="description" class="muted"></p>
<div class="price" id="price">–</div>
<p id="you" role="status"></p>
<p id="outcome" role="status"></p>
<div class="grid">
  <span class="muted">Highest bidder</span><span id="bidder">–</span>
  <span class="muted">Bids</span><span id="count">0</span>
  <span class="muted">Minimum next bid</span><span id="min-next">–</span>
  <span class="muted">Reserve</span><span id="reserve">–</span>
  <span class="muted">Ends in</span><span id="countdown">–</span>
  <span class="muted">Ends at</span><span id="ends-at">–</span>
  <span class="muted">Connection</span><span id="conn" data-state="down">connecting…</span>
</div>
<form id="sign-in">
  <input id="credential" type="password" placeholder="API key or bearer token (JWT)" aria-label="API key or bearer token" autocomplete="off" spellcheck="false">
  <button type="submit">Sign in</button>
</form>
<p id="signed-in" role="status" hidden><span id="who"></span> <button id="sign-out" type="button">Sign out</button></p>
<form id="bid-form">
  <input id="user" name="user_id" placeholder="your user id" maxlength="128" required>
  <input id="amount" name="amount" type="number" step="0.01" min="0.01" placeholder="amount" required>
  <input id="max" name="max_amount" type="number" step="0.01" min="0.01" placeholder="max (optional)">
  <button type="submit">Bid</button>
</form>
<div id="error" role="alert"></div>
<div id="ok" role="status"></div>
<h2>Live bids</h2>
<ul id="feed"></ul>
`;

const SCRIPT = `
(() => {
  const itemId = decodeURIComponent(location.pathname.split("/").filter(Boolean).pop() || "");
  const $ = (id) => document.getElementById(id);
  const money = (n) => Number(n).toFixed(2);
  let item = null;
  // Every frame but the snapshot carries its stream id: a reconnect resumes after the last one.
  let lastEventId = null;
  let bidByViewer = false;
  const viewer = () => $("user").value.trim();

  function minNext() {
    return Math.max(item.start_price, Math.round((item.current_bid + item.min_increment) * 100) / 100);
  }

  function outcomeText() {
    if (item.status === "open") return "";
    if (item.status === "unsold") return item.bid_count > 0 ? "Ended: not sold (reserve not met)" : "Ended: no bids";
    let text = "Sold to " + item.highest_bidder_id + " for " + money(item.current_bid);
    if (item.settlement_status === "settled") text += " — paid (order " + item.order_id + ")";
    else if (item.settlement_status === "settlement_failed") text += " — payment failed; relisted as " + item.relisted_as;
    else if (item.settlement_status === "pending") text += " — payment pending";
    return text;
  }

  function render() {
    if (!item) return;
    document.title = item.name + " – live auction";
    $("name").textContent = item.name;
    $("description").textContent = item.description || "";
    $("price").textContent = item.bid_count > 0 ? money(item.current_bid) : "Starts at " + money(item.start_price);
    $("bidder").textContent = item.highest_bidder_id || "–";
    $("count").textContent = String(item.bid_count);
    $("min-next").textContent = money(minNext());
    $("reserve").textContent = item.reserve_met ? "reserve met" : "reserve not met";
    $("ends-at").textContent = new Date(item.ends_at).toLocaleTimeString();
    $("ends-at").dataset.endsAt = item.ends_at;
    const me = viewer();
    const leading = me !== "" && item.highest_bidder_id === me;
    const won = item.status !== "open" && item.status !== "unsold";
    $("you").textContent = leading
      ? (won ? "You won" : "You are the highest bidder")
      : bidByViewer ? (item.status === "open" ? "You have been outbid" : "You did not win") : "";
    $("you").dataset.state = leading ? "leading" : bidByViewer ? "outbid" : "";
    $("outcome").textContent = outcomeText();
    $("outcome").dataset.status = item.status;
    tick();
  }

  function tick() {
    if (!item) return;
    const left = Date.parse(item.ends_at) - Date.now();
    if (left <= 0 || item.status !== "open") { $("countdown").textContent = "ended"; return; }
    const s = Math.floor(left / 1000);
    const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
    $("countdown").textContent = (d ? d + "d " : "") + String(h).padStart(2, "0") + ":" +
      String(m).padStart(2, "0") + ":" + String(s % 60).padStart(2, "0");
  }
  setInterval(tick, 1000);

  function addToFeed(bid) {
    const li = document.createElement("li");
    li.dataset.bidId = bid.bid_id;
    li.textContent = new Date(bid.timestamp).toLocaleTimeString() + "  " + money(bid.amount) + "  by " + bid.user_id +
      (bid.auto ? " (automatic)" : "");
    $("feed").prepend(li);
    while ($("feed").children.length > 200) $("feed").lastChild.remove();
  }

  // Whether the reserve is met is not in the bid frames: read it again, at most every 300 ms, until it is.
  let refreshing = null;
  function refreshReserve() {
    if (refreshing || item.reserve_met) return;
    refreshing = setTimeout(async () => {
      refreshing = null;
      const res = await fetch("/api/v1/items/" + encodeURIComponent(itemId)).catch(() => null);
      if (res && res.ok && item) { item.reserve_met = (await res.json()).reserve_met; render(); }
    }, 300);
  }

  function apply(frame) {
    if (frame.event_id) lastEventId = frame.event_id;
    if (frame.type === "snapshot") {
      item = frame;
      if (frame.recovered === false) $("feed").replaceChildren();
      return;
    }
    if (!item) return;
    if (frame.type === "bid") {
      item.current_bid = frame.amount;
      item.highest_bidder_id = frame.user_id;
      item.bid_count += 1;
      if (frame.user_id === viewer()) bidByViewer = true;
      addToFeed(frame);
      refreshReserve();
    } else if (frame.type === "extended") {
      item.ends_at = frame.ends_at;
    } else if (frame.type === "closed") {
      item.status = frame.status;
      item.reserve_met = frame.reserve_met;
      item.settlement_status = frame.status === "closed" ? "pending" : null;
    } else if (frame.type === "settled") {
      item.settlement_status = frame.settlement_status;
      item.order_id = frame.order_id;
      item.relisted_as = frame.relisted_as;
      if (frame.settlement_status === "settled") item.status = "settled";
    }
  }

  let retry = 0;
  const feed = { socket: null, urls: [] };
  window.auctionFeed = feed;
  function connect() {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const since = lastEventId ? "?since=" + encodeURIComponent(lastEventId) : "";
    const url = proto + "//" + location.host + "/ws/items/" + encodeURIComponent(itemId) + since;
    const ws = new WebSocket(url);
    feed.socket = ws;
    feed.urls.push(url);
    ws.onopen = () => { retry = 0; $("conn").textContent = "live"; $("conn").dataset.state = "live"; };
    ws.onmessage = (msg) => { apply(JSON.parse(msg.data)); render(); };
    ws.onclose = (e) => {
      $("conn").dataset.state = "down";
      if (e.code === 4404) { $("conn").textContent = "no such auction"; $("name").textContent = "Auction not found"; return; }
      $("conn").textContent = "reconnecting…";
      retry = Math.min(retry + 1, 6);
      setTimeout(connect, 250 * 2 ** (retry - 1));
    };
  }

  async function checkExists() {
    const res = await fetch("/api/v1/items/" + encodeURIComponent(itemId));
    if (res.status === 404) { $("name").textContent = "Auction not found"; $("conn").textContent = "–"; return false; }
    if (res.ok && !item) { item = await res.json(); render(); }
    return true;
  }

  // The credential lives in this tab's sessionStorage only: never a URL, a cookie or localStorage, so it
  // goes with the tab and is sent nowhere but on bids, as a header.
  const CREDENTIAL = "auction-credential";
  const credential = () => sessionStorage.getItem(CREDENTIAL) || "";

  // A JWT is three base64url parts whose first is a JSON header with an alg; anything else is an API key.
  // The payload is read for display only: the server verifies the token and enforces its subject.
  function tokenClaims(value) {
    const parts = value.split(".");
    if (parts.length !== 3) return null;
    const json = (part) => {
      const binary = atob(part.replace(/-/g, "+").replace(/_/g, "/"));
      return JSON.parse(new TextDecoder().decode(Uint8Array.from(binary, (ch) => ch.charCodeAt(0))));
    };
    try {
      const header = json(parts[0]);
      const claims = json(parts[1]);
      if (!header || typeof header.alg !== "string" || !claims || typeof claims !== "object") return null;
      return claims;
    } catch {
      return null;
    }
  }

  function credentialHeaders() {
    const value = credential();
    if (value === "") return {};
    return tokenClaims(value) ? { Authorization: "Bearer " + value } : { "X-API-Key": value };
  }

  function showSignedIn() {
    const value = credential();
    $("sign-in").hidden = value !== "";
    $("signed-in").hidden = value === "";
    if (value === "") return;
    const claims = tokenClaims(value);
    if (!claims) { $("who").textContent = "Signed in with an API key"; return; }
    let text = "Signed in with a token" + (typeof claims.sub === "string" ? " as " + claims.sub : "");
    if (typeof claims.exp === "number") {
      text += (claims.exp * 1000 <= Date.now() ? ", expired at " : ", expires at ") +
        new Date(claims.exp * 1000).toLocaleTimeString();
    }
    $("who").textContent = text;
  }

  // With a token the bidder is its subject: the user id defaults to it.
  function defaultUser() {
    const claims = tokenClaims(credential());
    if (claims && typeof claims.sub === "string") $("user").value = claims.sub;
  }

  $("sign-in").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const value = $("credential").value.trim().replace(/^Bearer +/i, "");
    $("credential").value = "";
    if (value === "") return;
    sessionStorage.setItem(CREDENTIAL, value);
    $("error").textContent = "";
    showSignedIn();
    defaultUser();
    render();
  });
  $("sign-out").addEventListener("click", () => {
    sessionStorage.removeItem(CREDENTIAL);
    showSignedIn();
  });

  $("user").value = localStorage.getItem("auction-user") || "";
  defaultUser();
  showSignedIn();
  $("user").addEventListener("input", render);
  $("bid-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    $("error").textContent = "";
    $("ok").textContent = "";
    const user = viewer();
    localStorage.setItem("auction-user", user);
    const body = { user_id: user, amount: Number($("amount").value) };
    if ($("max").value !== "") body.max_amount = Number($("max").value);
    try {
      const res = await fetch("/api/v1/items/" + encodeURIComponent(itemId) + "/bid", {
        method: "POST",
        headers: { "Content-Type": "application/json", ...credentialHeaders() },
        body: JSON.stringify(body),
      });
      // A proxy's error page is not JSON: the status still says what happened.
      const answer = await res.json().catch(() => ({}));
      if (res.status === 201) {
        bidByViewer = true;
        $("ok").textContent = "Bid of " + money(answer.amount) + " accepted" + (answer.leading ? "" : ", but outbid at once");
        render();
        return;
      }
      if (res.status === 401) {
        $("error").textContent = credential() === ""
          ? "sign in to bid"
          : "sign in to bid: this credential was refused (" + (answer.message || "unknown, expired or invalid") + ")";
        $("sign-in").hidden = false;
        $("credential").focus();
        return;
      }
      if (res.status === 403) {
        $("error").textContent = "this credential cannot bid: " + (answer.message || "forbidden") +
          (typeof answer.details === "string" ? " (" + answer.details + ")" : "");
        return;
      }
      let text = answer.message || answer.error || "bid refused (" + res.status + ")";
      if (answer.data && typeof answer.data.min_next_bid === "number") {
        text += " (minimum next bid " + money(answer.data.min_next_bid) + ")";
      } else if (typeof answer.details === "string") {
        text += ": " + answer.details;
      }
      $("error").textContent = text;
    } catch (err) {
      $("error").textContent = "could not reach the server: " + err.message;
    }
  });

  checkExists().then((exists) => { if (exists) connect(); });
})();
`;

export const AUCTION_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Live auction</title>
<style>${STYLE}</style>
</head>
${BODY}<script>${SCRIPT}</script>
</body>
</html>
`;

const sha256 = (text: string) => `'sha256-${createHash("sha256").update(text).digest("base64")}'`;

/**
 * Only the page's own script and stylesheet (by hash: they are inline, so the page is one string) and
 * connections to this origin ('self' covers ws:/wss: to it). The credential a viewer types lives next to
 * that script, so nothing else may run, frame the page or receive a form.
 */
export const AUCTION_CSP = [
  "default-src 'none'",
  `script-src ${sha256(SCRIPT)}`,
  `style-src ${sha256(STYLE)}`,
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");
