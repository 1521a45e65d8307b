/**
 * The live auction page: plain HTML and JS in a string, so the compiled binary carries it with no
 * file beside it. It reads the item id from its own path, follows /ws/items/{id} (reconnecting with
 * a fresh snapshot) and bids through the bidder API. User data is only ever set as textContent.
 */
export const AUCTION_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Live auction</title>
<style>
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
</style>
</head>
<body>
<h1 id="name">Loading…</h1>
<p id="description" class="muted"></p>
<div class="price" id="price">–</div>
<div class="grid">
  <span class="muted">Highest bidder</span><span id="bidder">–</span>
  <span class="muted">Bids</span><span id="count">0</span>
  <span class="muted">Minimum next bid</span><span id="min-next">–</span>
  <span class="muted">Ends in</span><span id="countdown">–</span>
  <span class="muted">Connection</span><span id="conn" data-state="down">connecting…</span>
</div>
<form id="bid-form">
  <input id="user" name="user_id" placeholder="your user id" maxlength="128" required>
  <input id="amount" name="amount" type="number" step="0.01" min="0.01" placeholder="amount" required>
  <button type="submit">Bid</button>
</form>
<div id="error" role="alert"></div>
<div id="ok" role="status"></div>
<h2>Live bids</h2>
<ul id="feed"></ul>
<script>
(() => {
  const itemId = decodeURIComponent(location.pathname.split("/").filter(Boolean).pop() || "");
  const $ = (id) => document.getElementById(id);
  const money = (n) => Number(n).toFixed(2);
  let item = null;

  function minNext() {
    return Math.max(item.start_price, Math.round((item.current_bid + item.min_increment) * 100) / 100);
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
    tick();
  }

  function tick() {
    if (!item) return;
    const left = Date.parse(item.ends_at) - Date.now();
    if (left <= 0) { $("countdown").textContent = "ended"; return; }
    const s = Math.floor(left / 1000);
    const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
    $("countdown").textContent = (d ? d + "d " : "") + String(h).padStart(2, "0") + ":" +
      String(m).padStart(2, "0") + ":" + String(s % 60).padStart(2, "0");
  }
  setInterval(tick, 1000);

  function addToFeed(bid) {
    const li = document.createElement("li");
    li.dataset.bidId = bid.bid_id;
    li.textContent = new Date(bid.timestamp).toLocaleTimeString() + "  " + money(bid.amount) + "  by " + bid.user_id;
    $("feed").prepend(li);
    while ($("feed").children.length > 200) $("feed").lastChild.remove();
  }

  let retry = 0;
  function connect() {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(proto + "//" + location.host + "/ws/items/" + encodeURIComponent(itemId));
    ws.onopen = () => { retry = 0; $("conn").textContent = "live"; $("conn").dataset.state = "live"; };
    ws.onmessage = (msg) => {
      const frame = JSON.parse(msg.data);
      if (frame.type === "snapshot") {
        item = frame;
      } else if (frame.type === "bid" && item) {
        item.current_bid = frame.amount;
        item.highest_bidder_id = frame.user_id;
        item.bid_count += 1;
        addToFeed(frame);
      }
      render();
    };
    ws.onclose = (e) => {
      $("conn").dataset.state = "down";
      if (e.code === 4404) { $("conn").textContent = "no such auction"; $("name").textContent = "Auction not found"; return; }
      $("conn").textContent = "reconnecting…";
      retry = Math.min(retry + 1, 6);
      setTimeout(connect, 250 * 2 ** retry);
    };
  }

  async function checkExists() {
    const res = await fetch("/api/v1/items/" + encodeURIComponent(itemId));
    if (res.status === 404) { $("name").textContent = "Auction not found"; $("conn").textContent = "–"; return false; }
    if (res.ok && !item) { item = await res.json(); render(); }
    return true;
  }

  $("user").value = localStorage.getItem("auction-user") || "";
  $("bid-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    $("error").textContent = "";
    $("ok").textContent = "";
    const user = $("user").value.trim();
    localStorage.setItem("auction-user", user);
    try {
      const res = await fetch("/api/v1/items/" + encodeURIComponent(itemId) + "/bid", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ user_id: user, amount: Number($("amount").value) }),
      });
      const body = await res.json();
      if (res.status === 201) { $("ok").textContent = "Bid of " + money(body.amount) + " accepted"; return; }
      let text = body.message || body.error || "bid refused";
      if (body.data && typeof body.data.min_next_bid === "number") {
        text += " (minimum next bid " + money(body.data.min_next_bid) + ")";
      } else if (typeof body.details === "string") {
        text += ": " + body.details;
      }
      $("error").textContent = text;
    } catch (err) {
      $("error").textContent = "could not reach the server: " + err.message;
    }
  });

  checkExists().then((exists) => { if (exists) connect(); });
})();
</script>
</body>
</html>
`;
