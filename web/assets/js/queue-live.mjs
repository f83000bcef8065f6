// Live queue counts: the counts beside the queue's tabs follow the server's events
// (GET /queue/live, server-sent events), and a polite live region says the queue changed.
// The table is never re-sorted or refreshed under the cursor: the person chooses when to
// reload it (the "Refresh the queue" link, which also works without JavaScript).

export function startLiveCounts(root = document) {
  const live = root.querySelector("[data-live-counts]");
  if (!live || !("EventSource" in window)) {
    return null;
  }
  const region = live.querySelector("[aria-live]");
  const message = live.getAttribute("data-live-message") || "";
  const counts = new Map();
  root.querySelectorAll("[data-count]").forEach((element) => {
    counts.set(element.getAttribute("data-count"), element);
  });
  const source = new EventSource(live.getAttribute("data-live-counts"));
  let first = true;
  source.addEventListener("counts", (event) => {
    let changed = false;
    let fresh;
    try {
      fresh = JSON.parse(event.data);
    } catch {
      return;
    }
    for (const [tab, element] of counts) {
      const value = String(fresh[tab] ?? "");
      if (value && element.textContent.trim() !== value) {
        element.textContent = value;
        changed = true;
      }
    }
    if (changed && !first && region) {
      region.textContent = message;
    }
    if (changed && first && region) {
      // The page was already out of date when it loaded.
      region.textContent = message;
    }
    first = false;
    live.setAttribute("data-live-seen", String(Number(live.getAttribute("data-live-seen") || 0) + 1));
  });
  window.addEventListener("pagehide", () => source.close());
  return source;
}
