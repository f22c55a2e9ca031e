/* Prefills a time-zone select ([data-browser-zone]) with the browser's own zone, while the
 * person has chosen none: the option is picked, or added when the list lacks it (the server
 * accepts any IANA name and checks it). Without JavaScript, or when the browser names no zone,
 * the firm's zone stays chosen. A file of its own, not an inline script: the
 * Content-Security-Policy runs scripts from our origin only. */
(function () {
  "use strict";
  // Browsers (ICU) still name some zones by their old IANA names: the list has the new ones.
  var RENAMED = {
    "Asia/Calcutta": "Asia/Kolkata",
    "Asia/Katmandu": "Asia/Kathmandu",
    "Asia/Saigon": "Asia/Ho_Chi_Minh",
    "Asia/Rangoon": "Asia/Yangon",
    "Europe/Kiev": "Europe/Kyiv",
    "America/Buenos_Aires": "America/Argentina/Buenos_Aires",
    "Atlantic/Faeroe": "Atlantic/Faroe",
    "Pacific/Truk": "Pacific/Chuuk",
    "Pacific/Ponape": "Pacific/Pohnpei"
  };
  function prefill() {
    var zone = "";
    try {
      zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
    } catch (e) {
      return;
    }
    zone = RENAMED[zone] || zone;
    if (!/^[A-Za-z0-9_+\-\/]{1,64}$/.test(zone)) { return; }
    document.querySelectorAll("select[data-browser-zone]").forEach(function (select) {
      if (select.value !== "") { return; }  // chosen already (or sent back with an error)
      var found = Array.prototype.some.call(select.options, function (o) { return o.value === zone; });
      if (!found) {
        var option = document.createElement("option");
        option.value = zone;
        option.textContent = zone + " (your browser's)";
        select.appendChild(option);
      }
      select.value = zone;
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", prefill);
  } else {
    prefill();
  }
})();
