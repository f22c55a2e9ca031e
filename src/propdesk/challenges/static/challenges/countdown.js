/* Counts down to each day reset shown ([data-countdown]: the seconds left when the server
 * rendered it, so the browser's clock does not matter), and to a weekend cutoff (its
 * data-countdown-lead words it: "due in 2 days 3 h"). Without JavaScript the absolute time
 * stays. Elements swapped in by htmx are picked up at the next tick. The page gives the words
 * in the reader's language: data-countdown-now (time is up), data-countdown-in (a sentence
 * with "{time}" in it), data-countdown-day / data-countdown-days; English without them.
 * A file of its own, not an inline script: the Content-Security-Policy runs scripts from our
 * origin only. */
(function () {
  "use strict";
  function span(ms, lead, said) {
    var minutes = Math.ceil(ms / 60000);
    var hours = Math.floor(minutes / 60);
    minutes = minutes % 60;
    if (!lead) {
      if (hours === 0) { return minutes + " min"; }
      return hours + " h " + minutes + " min";
    }
    var days = Math.floor(hours / 24);
    hours = hours % 24;
    if (days > 0) {
      return days + " " + (days > 1 ? said.countdownDays || "days" : said.countdownDay || "day") +
        " " + hours + " h";
    }
    if (hours === 0) { return minutes + " min"; }
    return hours + " h " + minutes + " min";
  }
  function words(ms, said) {
    var lead = said.countdownLead;
    if (ms <= 0) { return said.countdownNow || (lead ? "any moment now" : "resetting now"); }
    var sentence = said.countdownIn || (lead ? lead + " {time}" : "resets in {time}");
    return sentence.replace("{time}", span(ms, lead, said));
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-countdown]").forEach(function (el) {
      if (!el.dataset.seenAt) { el.dataset.seenAt = String(now); }
      var left = Number(el.dataset.countdown) * 1000 - (now - Number(el.dataset.seenAt));
      var out = el.querySelector("[data-countdown-left]");
      if (out) { out.textContent = " (" + words(left, el.dataset) + ")"; }
    });
  }
  tick();
  window.setInterval(tick, 1000);
})();
