/* The deposit and withdrawal forms: once a currency is chosen, only the payment methods that
 * take it are offered (each option's data-currencies). Without JavaScript every method stays
 * and the server refuses a method that does not take the currency, saying which ones it takes.
 * A file of its own, not an inline script: the Content-Security-Policy runs ours only. */
(function () {
  "use strict";
  function fit(form) {
    var currency = form.querySelector("select[name=currency]");
    var method = form.querySelector("select[name=method]");
    if (!currency || !method) { return; }
    var chosen = currency.value;
    Array.prototype.forEach.call(method.options, function (option) {
      var takes = option.dataset.currencies;
      var fits = !takes || !chosen || takes.split(" ").indexOf(chosen) !== -1;
      option.hidden = !fits;
      option.disabled = !fits;
      if (!fits && option.selected) { method.value = ""; }
    });
  }
  document.querySelectorAll("form[data-money-form]").forEach(function (form) {
    var currency = form.querySelector("select[name=currency]");
    if (currency) { currency.addEventListener("change", function () { fit(form); }); }
    fit(form);
  });
})();
