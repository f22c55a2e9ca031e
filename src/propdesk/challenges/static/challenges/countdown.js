/* Counts down to each day reset shown ([data-countdown]: the seconds left when the server
 * rendered it, so the browser's clock does not matter), and to a weekend cutoff (its
 * data-countdown-lead words it: "due in 2 days 3 h"). Without JavaScript the absolute time
 * stays. Elements swapped in by htmx are picked up at the next tick. A file of its own, not
 * an inline script: the Content-Security-Policy runs scripts from our origin only. */
(function () {
  "use strict";
  function words(ms, lead) {
    if (ms <= 0) { return lead ? "any moment now" : "resetting now"; }
    var minutes = Math.ceil(ms / 60000);
    var hours = Math.floor(minutes / 60);
    minutes = minutes % 60;
    if (!lead) {
      if (hours === 0) { return "resets in " + minutes + " min"; }
      return "resets in " + hours + " h " + minutes + " min";
    }
    var days = Math.floor(hours / 24);
    hours = hours % 24;
    if (days > 0) { return lead + " " + days + (days > 1 ? " days " : " day ") + hours + " h"; }
    if (hours === 0) { return lead + " " + minutes + " min"; }
    return lead + " " + hours + " h " + minutes + " min";
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-countdown]").forEach(function (el) {
      if (!el.dataset.seenAt) { el.dataset.seenAt = String(now); }
      var left = Number(el.dataset.countdown) * 1000 - (now - Number(el.dataset.seenAt));
      var out = el.querySelector("[data-countdown-left]");
      if (out) { out.textContent = " (" + words(left, el.dataset.countdownLead) + ")"; }
    });
  }
  tick();
  window.setInterval(tick, 1000);
})();
