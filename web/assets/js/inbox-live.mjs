// A participant's inbox, live: when something new is passed on to them (GET /my/live,
// server-sent events that say only "changed"), a polite live region says so and a link to
// refresh the page appears. Nothing on the page changes under the reader's eyes, and the
// stream never carries who sent what: the refreshed page shows what they may see.

export function startInboxLive(root = document) {
  const live = root.querySelector("[data-live-inbox]");
  if (!live || !("EventSource" in window)) {
    return null;
  }
  const region = live.querySelector("[aria-live]");
  const refresh = live.querySelector("#inbox-refresh");
  const source = new EventSource(live.getAttribute("data-live-inbox"));
  source.addEventListener("changed", () => {
    if (region) {
      region.textContent = region.getAttribute("data-live-message") || "";
    }
    if (refresh && refresh.parentElement) {
      refresh.parentElement.hidden = false;
    }
    live.setAttribute("data-live-seen", String(Number(live.getAttribute("data-live-seen") || 0) + 1));
  });
  source.addEventListener("open", () => live.setAttribute("data-live-open", "yes"));
  window.addEventListener("pagehide", () => source.close());
  return source;
}
