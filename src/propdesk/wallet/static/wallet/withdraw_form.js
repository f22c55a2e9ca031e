/* The withdrawal form: the chosen method says where it pays (its option's data-payout-to), so
 * only that destination's fields are shown and sent (the other fieldset is hidden and
 * disabled), a crypto method offers only its networks (data-networks), and the destination the
 * client last gave for that method is filled in again (the JSON in #last-destinations) unless
 * they have typed something of their own. Without JavaScript both fieldsets stay, and the
 * server reads only the fields of the chosen method's kind. */
(function () {
  "use strict";
  var data = document.getElementById("last-destinations");
  var last = data ? JSON.parse(data.textContent) : {};
  document.querySelectorAll("form[data-withdraw-form]").forEach(function (form) {
    var method = form.querySelector("select[name=method]");
    var network = form.querySelector("select[name=network]");
    var filled = {};  // field name -> what we filled in (kept only while untouched)
    if (!method) { return; }
    function offerNetworks(option) {
      if (!network) { return; }
      var offered = (option && option.dataset.networks || "").split(" ");
      Array.prototype.forEach.call(network.options, function (choice) {
        var fits = !choice.value || offered.indexOf(choice.value) !== -1;
        choice.hidden = !fits;
        choice.disabled = !fits;
        if (!fits && choice.selected) { network.value = ""; }
      });
    }
    function prefill(kind, fieldset) {
      var before = last[method.value];
      if (!before || before.type !== kind) { return; }
      fieldset.querySelectorAll("input, select").forEach(function (input) {
        var mine = input.value && input.value !== filled[input.name];
        if (mine || !(input.name in before)) { return; }
        input.value = before[input.name];
        filled[input.name] = input.value;
      });
    }
    function show() {
      var option = method.options[method.selectedIndex];
      var kind = option ? option.dataset.payoutTo || "" : "";
      form.querySelectorAll("fieldset[data-payout]").forEach(function (fieldset) {
        var wanted = fieldset.dataset.payout === kind;
        fieldset.hidden = !wanted;
        fieldset.disabled = !wanted;
        if (wanted) { prefill(kind, fieldset); }
      });
      offerNetworks(option);
    }
    var initial = last[method.value];  // the server filled in the method's last destination
    if (initial) {
      form.querySelectorAll("fieldset[data-payout] input, fieldset[data-payout] select")
        .forEach(function (input) {
          if (input.value && initial[input.name] === input.value) { filled[input.name] = input.value; }
        });
    }
    var currency = form.querySelector("select[name=currency]");
    // After money_form.js, which may clear a method that does not take the currency.
    if (currency) { currency.addEventListener("change", show); }
    method.addEventListener("change", show);
    show();
  });
})();
